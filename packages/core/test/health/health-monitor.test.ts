import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterEvents } from '../../src/events/cluster-events.js'
import { type AssembledCluster, assembledCluster } from '../support/assembled-cluster.js'

const INTERVAL_MILLIS = 300
const DOWN_AFTER = 3

let c: AssembledCluster

beforeAll(async () => {
  c = await assembledCluster({
    config: { health: { intervalMillis: INTERVAL_MILLIS, downAfter: DOWN_AFTER, timeoutMillis: 2_000 } },
  })
})
afterAll(() => c?.close())

const probesOf = () => c.parts.nodes.all.map((node) => node.probes)
const pause = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe('HealthMonitor (real cluster)', () => {
  it('probeAll() learns every role, identity, timeline and position', async () => {
    const { monitor, topology } = c.parts
    await monitor.probeAll()
    const [p, r1, r2] = [c.node('pg1'), c.node('pg2'), c.node('pg3')]
    expect(topology.primary).toBe(p)
    expect(p.role).toBe('primary')
    for (const replica of [r1, r2]) {
      expect(replica.role).toBe('replica')
      expect(replica.state).toBe('healthy')
      expect(replica.systemId).toBe(p.systemId)
      expect(replica.timeline).toBe(1)
      expect(replica.lsn).toBeTypeOf('bigint')
      expect(replica.routable).toBe(true)
    }
    expect(p.systemId).toMatch(/^[0-9]+$/)
    expect(topology.systemId).toBe(p.systemId)
    expect(topology.timeline).toBe(1)
  })

  it('recheck() probes every node once for all the calls within one interval', async () => {
    const { monitor } = c.parts
    await monitor.probeAll() // the timed probes are now an interval away
    const before = probesOf()
    const first = monitor.recheck()
    const again = [monitor.recheck(), monitor.recheck(), monitor.recheck()]
    for (const call of again) expect(call).toBe(first)
    await Promise.all([first, ...again])
    expect(probesOf()).toEqual(before.map((n) => n + 1))
    await pause(INTERVAL_MILLIS + 50)
    const later = monitor.recheck()
    expect(later).not.toBe(first) // a new interval, a new round
    await later
  })

  it('seekPrimary() probes every node now', async () => {
    const { monitor } = c.parts
    await monitor.probeAll()
    await pause(30) // past the shortest gap between probes that traffic may ask for
    const before = probesOf()
    monitor.seekPrimary()
    const after = probesOf()
    after.forEach((probes, i) => {
      expect(probes).toBeGreaterThan(before[i]!)
    })
  })

  it('marks a stopped node suspect at its first failed probe, and down after downAfter', async () => {
    const { monitor, events, topology } = c.parts
    const node = c.node('pg3')
    const seen: { event: string; failures: number }[] = []
    const onSuspect = (e: ClusterEvents['node-suspect']) => {
      if (e.node === 'pg3') seen.push({ event: 'suspect', failures: node.failures })
    }
    const onDown = (e: ClusterEvents['node-down']) => {
      if (e.node === 'pg3') seen.push({ event: 'down', failures: node.failures })
    }
    events.on('node-suspect', onSuspect)
    events.on('node-down', onDown)
    const failuresBefore = node.failures
    await c.cluster.replicas[1]!.stop({ mode: 'immediate' })
    await monitor.probe(node)
    expect(node.state).not.toBe('healthy')
    expect(node.routable).toBe(false)
    // Timed probes run too; whoever probes, the breaker counts each failure once.
    for (let i = 0; i < 20 && node.state !== 'down'; i++) await monitor.probe(node)
    expect(node.state).toBe('down')
    expect(node.lastError).toBeDefined()
    expect(seen).toEqual([
      { event: 'suspect', failures: failuresBefore + 1 },
      { event: 'down', failures: failuresBefore + DOWN_AFTER },
    ])
    // The rest of the cluster goes on.
    expect(topology.primary).toBe(c.node('pg1'))
    expect(c.node('pg2').routable).toBe(true)
  })
})
