import { describe, expect, it } from 'vitest'
import type { ResolvedSync } from '../../src/config/config-schema.js'
import { mirror } from '../../src/connection/mirror.js'
import type { Lsn } from '../../src/consistency/lsn.js'
import type { ConsistencyToken } from '../../src/consistency/token.js'
import { MirrorTimeoutError } from '../../src/errors/causeway-error.js'
import type { ClusterEvents } from '../../src/events/cluster-events.js'
import { EventHub } from '../../src/events/event-hub.js'
import type { DbNode } from '../../src/topology/db-node.js'
import { LagTracker } from '../../src/topology/lag-tracker.js'
import { ReplayWaiter } from '../../src/topology/replay-waiter.js'
import { Topology } from '../../src/topology/topology.js'
import { detachedNode } from '../support/detached-node.js'
import { probeResult } from '../support/probe-result.js'

const token: ConsistencyToken = { systemId: '7', timeline: 1, lsn: 0x500n }

/**
 * Replicas r1, r2, r3 at LSN 0x100 under primary p, routable, and a waiter whose
 * replay check answers from `positions` (what each replica has replayed "now").
 */
function setup() {
  const p = detachedNode('p')
  const replicas = ['r1', 'r2', 'r3'].map(detachedNode)
  const all = [p, ...replicas]
  const topology = new Topology(() => all, p, new EventHub(), new LagTracker(), true)
  p.observe(probeResult({ role: 'primary', lsn: 0x500n, lifetime: 'p' }))
  for (const r of replicas) r.observe(probeResult({ lsn: 0x100n, lifetime: r.name }))
  topology.evaluate()
  const positions = new Map<DbNode, Lsn>(replicas.map((r) => [r, 0x100n]))
  const checked: string[] = []
  const waiter = new ReplayWaiter(
    async (node) => {
      checked.push(node.name)
      return positions.get(node)
    },
    1,
    0,
  )
  const events = new EventHub()
  const timeouts: ClusterEvents['mirror-timeout'][] = []
  events.on('mirror-timeout', (e) => timeouts.push(e))
  const [r1, r2, r3] = replicas as [DbNode, DbNode, DbNode]
  return { replicas, r1, r2, r3, positions, checked, waiter, events, timeouts }
}

const sync = (fields: Partial<ResolvedSync>): ResolvedSync => ({
  replicas: 'all',
  timeoutMillis: 200,
  onTimeout: 'error',
  method: 'client',
  ...fields,
})

describe('mirror', () => {
  it("waits until every routable replica has replayed the token ('all')", async () => {
    const { replicas, r1, r2, r3, positions, waiter, events, timeouts } = setup()
    for (const r of replicas) positions.set(r, 0x500n)
    const result = await mirror(token, replicas, sync({}), waiter, events)
    expect(result.timedOut).toBe(false)
    expect(result.required).toBe(3)
    expect([...result.mirrored].sort()).toEqual([r1.name, r2.name, r3.name])
    expect(timeouts).toEqual([])
    waiter.stop()
  })

  it('asks no replica that is already known to have the token', async () => {
    const { replicas, r1, r2, r3, checked, waiter, events } = setup()
    for (const r of [r1, r2, r3]) r.advance(0x600n)
    const result = await mirror(token, replicas, sync({}), waiter, events)
    expect(result.mirrored).toHaveLength(3)
    expect(checked).toEqual([])
    waiter.stop()
  })

  it('returns once a number of replicas have it, without waiting for the rest', async () => {
    const { replicas, r2, positions, waiter, events } = setup()
    positions.set(r2, 0x500n)
    const started = Date.now()
    const result = await mirror(token, replicas, sync({ replicas: 1, timeoutMillis: 2_000 }), waiter, events)
    expect(result).toEqual({ mirrored: [r2.name], required: 1, timedOut: false })
    expect(Date.now() - started).toBeLessThan(1_000)
    waiter.stop()
  })

  it("does not wait for a replica that is down or fenced under 'all', but does for one that lags", async () => {
    const { replicas, r1, r2, r3, positions, waiter, events } = setup()
    for (let i = 0; i < 3; i++) r1.breaker.failure() // down
    r2.lagging = true // healthy, past maxLag: still waited for
    positions.set(r2, 0x500n)
    positions.set(r3, 0x500n)
    const result = await mirror(token, replicas, sync({}), waiter, events)
    expect(result.required).toBe(2)
    expect([...result.mirrored].sort()).toEqual([r2.name, r3.name])
    waiter.stop()
  })

  it('times out with a MirrorTimeoutError that says how many mirrored, and which, and reports it', async () => {
    const { replicas, r3, positions, waiter, events, timeouts } = setup()
    positions.set(r3, 0x500n)
    const error = await mirror(token, replicas, sync({ timeoutMillis: 30 }), waiter, events).catch((e) => e)
    expect(error).toBeInstanceOf(MirrorTimeoutError)
    expect(error).toMatchObject({ code: 'MIRROR_TIMEOUT', mirrored: [r3.name], required: 3 })
    expect(error.message).toMatch(/committed on the primary \(LSN 0\/500\)/)
    expect(error.message).toMatch(/1 of 3 replicas applied it within 30 ms \(r3\)/)
    expect(timeouts).toEqual([{ lsn: '0/500', mirrored: [r3.name], required: 3 }])
    waiter.stop()
  })

  it("with onTimeout 'continue', reports the timeout and returns", async () => {
    const { replicas, waiter, events, timeouts } = setup()
    const result = await mirror(
      token,
      replicas,
      sync({ timeoutMillis: 20, onTimeout: 'continue' }),
      waiter,
      events,
    )
    expect(result).toEqual({ mirrored: [], required: 3, timedOut: true })
    expect(timeouts).toHaveLength(1)
    waiter.stop()
  })

  it('fails at once when fewer replicas are routable than it must wait for', async () => {
    const { replicas, r1, r2, waiter, events } = setup()
    for (const r of [r1, r2]) for (let i = 0; i < 3; i++) r.breaker.failure()
    const started = Date.now()
    const error = await mirror(
      token,
      replicas,
      sync({ replicas: 2, timeoutMillis: 5_000 }),
      waiter,
      events,
    ).catch((e) => e)
    expect(error).toBeInstanceOf(MirrorTimeoutError)
    expect(error).toMatchObject({ required: 2 })
    expect(Date.now() - started).toBeLessThan(2_000)
    waiter.stop()
  })

  it('has nothing to wait for with no replica at all', async () => {
    const { waiter, events, timeouts } = setup()
    expect(await mirror(token, [], sync({}), waiter, events)).toEqual({
      mirrored: [],
      required: 0,
      timedOut: false,
    })
    expect(timeouts).toEqual([])
  })
})
