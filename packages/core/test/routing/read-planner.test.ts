import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsistencyScope } from '../../src/consistency/consistency-scope.js'
import type { ConsistencyToken } from '../../src/consistency/token.js'
import type { ClusterEvents } from '../../src/events/cluster-events.js'
import { type AssembledCluster, assembledCluster, read } from '../support/assembled-cluster.js'

const MAX_WAIT_MILLIS = 400
const statement = read('select 1')

let c: AssembledCluster
const staleTokens: ClusterEvents['stale-token'][] = []
const fallbacks: ClusterEvents['fallback'][] = []

beforeAll(async () => {
  c = await assembledCluster({
    cluster: { replicas: 1 },
    config: { consistency: { maxWaitMillis: MAX_WAIT_MILLIS, scope: 'session' } },
  })
  await c.cluster.primary.query('create table notes (id serial primary key, body text)')
  c.parts.events.on('stale-token', (e) => staleTokens.push(e))
  c.parts.events.on('fallback', (e) => fallbacks.push(e))
})
afterAll(() => c?.close())

/** A write on the primary, and the token a capture after it takes. */
async function writeAndCapture(): Promise<ConsistencyToken> {
  await c.cluster.primary.query(`insert into notes (body) values ('x')`)
  return c.node('pg1').sampler.sample()
}

describe('ReadPlanner (real cluster)', () => {
  it('sends a read with no token to a replica, without waiting', async () => {
    const { planner } = c.parts
    expect(planner.now(statement, undefined, undefined, undefined)).toBe(c.node('pg2'))
    expect(await planner.plan(statement, new ConsistencyScope(), undefined, undefined)).toBe(c.node('pg2'))
  })

  it('never waits: tries a replica whose position is not known just now, and reads the primary when it is known to be behind', async () => {
    const { planner, counters } = c.parts
    const replica = c.cluster.replicas[0]!
    const pg2 = c.node('pg2')
    await replica.pauseReplay()
    try {
      const token = await writeAndCapture()
      const scope = new ConsistencyScope({ token })
      fallbacks.length = 0
      // Its position was last seen long ago: the replica is tried (the read carries
      // its own proof, and goes to the primary if the proof fails).
      pg2.lsnSeenAt = 0
      const tries = counters.replayWaits
      expect(planner.now(statement, scope, undefined, undefined)).toBe(pg2)
      expect(counters.replayWaits).toBe(tries + 1)
      // Seen just now, behind the token: the primary, at once, counted.
      pg2.lsnSeenAt = performance.now()
      const behind = counters.fallbacks['not-caught-up']
      const started = performance.now()
      expect(await planner.plan(statement, scope, undefined, undefined)).toBe(c.node('pg1'))
      expect(performance.now() - started).toBeLessThan(MAX_WAIT_MILLIS)
      expect(counters.fallbacks['not-caught-up']).toBe(behind + 1)
      expect(fallbacks).toEqual([{ reason: 'not-caught-up', statement: 'select 1' }])
      // Once a check or probe shows the replica at the token, it is chosen.
      await replica.resumeReplay()
      // Replay resumes in the background: probe until the replica shows the token
      // (a probe taken before it replayed rightly sees it behind).
      const deadline = Date.now() + 10_000
      do await c.parts.monitor.probeAll()
      while (!pg2.hasReplayed(token) && Date.now() < deadline)
      expect(pg2.hasReplayed(token)).toBe(true)
      expect(planner.now(statement, scope, undefined, undefined)).toBe(pg2)
    } finally {
      await replica.resumeReplay()
    }
  })

  it('reads the primary while the scope is capturing its token, without waiting for the capture', async () => {
    const { planner, counters } = c.parts
    const scope = new ConsistencyScope()
    await c.cluster.primary.query(`insert into notes (body) values ('pending')`)
    let release: () => void = () => {}
    const capture = new Promise<ConsistencyToken>((resolve) => {
      release = () => void writeAndCapture().then(resolve)
    })
    void scope.capture(capture)
    const pending = counters.fallbacks['capture-pending']
    expect(planner.now(statement, scope, undefined, undefined)).toBe(c.node('pg1'))
    expect(counters.fallbacks['capture-pending']).toBe(pending + 1)
    release()
    await scope.pending
    expect(scope.pending).toBeUndefined()
  })

  it("reads a forged token beyond the primary's position from the primary, as an 'unreachable' stale token, without waiting", async () => {
    const { planner, counters } = c.parts
    const real = await writeAndCapture()
    const forged: ConsistencyToken = { ...real, lsn: real.lsn + (1n << 32n) }
    staleTokens.length = 0
    const waits = counters.replayWaits
    const stale = counters.staleTokens
    const node = await planner.plan(statement, new ConsistencyScope({ token: forged }), undefined, undefined)
    expect(node).toBe(c.node('pg1'))
    expect(staleTokens).toEqual([
      { reason: 'unreachable', token: `${real.systemId}/${real.timeline}`, statement: 'select 1' },
    ])
    expect(counters.staleTokens).toBe(stale + 1)
    expect(counters.replayWaits).toBe(waits)
  })

  it("reads another system's token from the primary, as a 'system' stale token", async () => {
    const { planner } = c.parts
    const real = await writeAndCapture()
    const scope = new ConsistencyScope({ token: { ...real, systemId: '12345', lsn: 1n } })
    staleTokens.length = 0
    expect(planner.now(statement, scope, undefined, undefined)).toBeUndefined()
    expect(await planner.plan(statement, scope, undefined, undefined)).toBe(c.node('pg1'))
    expect(staleTokens.map((e) => e.reason)).toEqual(['system'])
  })

  it("looks again before reading a token of a newer timeline from the primary, as 'newer'", async () => {
    const { planner } = c.parts
    const real = await writeAndCapture()
    const probes = c.node('pg1').probes
    staleTokens.length = 0
    const scope = new ConsistencyScope({ token: { ...real, timeline: real.timeline + 1 } })
    expect(await planner.plan(statement, scope, undefined, undefined)).toBe(c.node('pg1'))
    expect(staleTokens.map((e) => e.reason)).toEqual(['newer'])
    expect(c.node('pg1').probes).toBeGreaterThan(probes)
  })
})
