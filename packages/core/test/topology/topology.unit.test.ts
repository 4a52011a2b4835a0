import { describe, expect, it } from 'vitest'
import { EventHub } from '../../src/events/event-hub.js'
import type { DbNode } from '../../src/topology/db-node.js'
import { LagTracker } from '../../src/topology/lag-tracker.js'
import { LeaderAuthority } from '../../src/topology/leader-authority.js'
import { parsePatroniView } from '../../src/topology/patroni-view.js'
import { Topology } from '../../src/topology/topology.js'
import { detachedNode } from '../support/detached-node.js'
import { probeResult as probe } from '../support/probe-result.js'

const node = detachedNode

function observe(n: DbNode, role: 'primary' | 'replica', timeline: number, systemId = '7'): void {
  n.observe(probe({ role, systemId, lifetime: `${n.name}-1`, timeline }))
}

function setup(follow = true) {
  const [p, r1, r2] = [node('p'), node('r1'), node('r2')]
  const events = new EventHub()
  const fenced: string[] = []
  events.on('node-fenced', (e) => fenced.push(e.node))
  const topology = new Topology(() => [p, r1, r2], p, events, new LagTracker(), follow)
  observe(p, 'primary', 1)
  observe(r1, 'replica', 1)
  observe(r2, 'replica', 1)
  topology.evaluate()
  return { p, r1, r2, topology, fenced }
}

describe('Topology', () => {
  it('starts with the configured primary and fences nothing', () => {
    const { p, topology, fenced } = setup()
    expect(topology.primary).toBe(p)
    expect(topology.timeline).toBe(1)
    expect(fenced).toEqual([])
  })

  // Regression: a cascaded replica that reached the new timeline was probed before
  // the promoted node; the promoted node was fenced as "behind", then as "a second
  // writable node", and the cluster had no primary until restart.
  it('follows a promotion whatever the order of the probes', () => {
    const { p, r1, r2, topology } = setup()
    for (let i = 0; i < 3; i++) p.breaker.failure() // the old primary is down
    observe(r2, 'replica', 2) // r2 already streams timeline 2…
    topology.evaluate()
    expect(r1.state).toBe('fenced') // …so r1, still seen on timeline 1, is behind for now
    observe(r1, 'primary', 2) // then r1's probe shows it promoted
    topology.evaluate()
    expect(topology.primary).toBe(r1)
    expect(r1.state).toBe('healthy')
    expect(topology.epoch).toBe(2)
  })

  it('fences an old primary that comes back writable on an older timeline, for good', () => {
    const { p, r1, topology } = setup()
    for (let i = 0; i < 3; i++) p.breaker.failure()
    observe(r1, 'primary', 2)
    topology.evaluate()
    expect(topology.primary).toBe(r1)
    p.breaker.success()
    p.breaker.success()
    observe(p, 'primary', 1)
    topology.evaluate()
    expect(p.state).toBe('fenced')
    expect(p.fencedBecause).toMatch(/an old primary/)
    expect(topology.primary).toBe(r1)
  })

  it('fences a second writable node while the primary is usable', () => {
    const { r2, topology, p } = setup()
    observe(r2, 'primary', 1)
    topology.evaluate()
    expect(topology.primary).toBe(p)
    expect(r2.fencedBecause).toMatch(/a second writable node besides p/)
  })

  it('picks no primary when two writable nodes share the newest timeline and the old one is gone', () => {
    const { p, r1, r2, topology } = setup()
    for (let i = 0; i < 3; i++) p.breaker.failure()
    observe(r1, 'primary', 2)
    observe(r2, 'primary', 2)
    topology.evaluate()
    expect(topology.primary).toBeUndefined()
  })

  it('fences a node of another system, and does not let it define the cluster', () => {
    const { r2, topology } = setup()
    observe(r2, 'primary', 9, '99')
    topology.evaluate()
    expect(topology.timeline).toBe(1)
    expect(r2.fencedBecause).toMatch(/system identifier 99/)
  })

  it("with failover 'off', keeps the configured primary and fences any other writable node", () => {
    const { p, r1, topology } = setup(false)
    for (let i = 0; i < 3; i++) p.breaker.failure()
    observe(r1, 'primary', 1)
    topology.evaluate()
    expect(topology.primary).toBeUndefined()
    expect(topology.lastPrimary).toBe(p)
    expect(r1.fencedBecause).toMatch(/failover is off/)
  })

  // Regression (issue 15, item 2): with the configured primary down at start, any
  // node counted as "the same system", and follow mode adopted another cluster's primary.
  it('trusts no other node while the cluster identity is unknown (configured primary down at start)', () => {
    const [p, foreignPrimary, foreignReplica] = [node('p'), node('x1'), node('x2')]
    const topology = new Topology(
      () => [p, foreignPrimary, foreignReplica],
      p,
      new EventHub(),
      new LagTracker(),
      true,
    )
    for (let i = 0; i < 3; i++) p.breaker.failure() // never answered
    observe(foreignPrimary, 'primary', 1, '99')
    observe(foreignReplica, 'replica', 1, '99')
    topology.evaluate()
    expect(topology.primary).toBeUndefined()
    expect(topology.lastPrimary).toBe(p)
    expect(foreignPrimary.routable).toBe(false)
    expect(foreignReplica.routable).toBe(false)
    expect(foreignReplica.state).toBe('unverified')
    // Once our primary answers, the identity is known and the others are fenced, with why.
    p.breaker.success()
    p.breaker.success()
    observe(p, 'primary', 1, '7')
    topology.evaluate()
    expect(topology.primary).toBe(p)
    expect(foreignReplica.state).toBe('fenced')
    expect(foreignPrimary.fencedBecause).toMatch(/system identifier 99 is not the cluster's 7/)
  })

  it('trusts nodes whose identifier matches a pinned systemId, even with the configured primary down', () => {
    const [p, r1] = [node('p'), node('r1')]
    const topology = new Topology(() => [p, r1], p, new EventHub(), new LagTracker(), true, '7')
    for (let i = 0; i < 3; i++) p.breaker.failure()
    observe(r1, 'primary', 2, '7')
    topology.evaluate()
    expect(r1.verified).toBe(true)
    expect(topology.primary).toBe(r1)
  })

  it('says a node is the primary itself when the primary is listed twice', () => {
    const { p, topology } = setup()
    const again = node('p-again')
    const twice = new Topology(() => [p, again], p, new EventHub(), new LagTracker(), true)
    // The same postmaster start time as p: the same server.
    again.observe(probe({ role: 'primary', lifetime: 'p-1', timeline: 1 }))
    twice.evaluate()
    expect(again.fencedBecause).toMatch(/the same server as the primary p/)
    expect(again.fencedBecause).not.toMatch(/second writable/)
    expect(topology.primary).toBe(p)
  })

  it('sends nothing to a primary a failover is deciding about, and says when it may acknowledge', async () => {
    const { p, topology } = setup()
    expect(topology.mayAcknowledge(p)).toBe(true)
    topology.beginDemotion(p)
    expect(topology.primary).toBeUndefined()
    expect(topology.mayAcknowledge(p)).toBe(false)
    let settled = false
    const waiting = topology.demotionSettled().then(() => {
      settled = true
    })
    await Promise.resolve()
    expect(settled).toBe(false)
    topology.endDemotion() // the failover was cancelled: p stays
    await waiting
    expect(topology.primary).toBe(p)
    expect(topology.mayAcknowledge(p)).toBe(true)
  })

  // Regression: a standby whose upstream died reports its last checkpoint's timeline
  // (older than what it replayed), so it was "behind" and auto failover found no
  // replica to promote after a second failover.
  it("keeps a node's newer timeline within one server lifetime", () => {
    const { r1 } = setup()
    observe(r1, 'replica', 2)
    observe(r1, 'replica', 1) // same lifetime: the WAL receiver stopped
    expect(r1.timeline).toBe(2)
    r1.observe(probe({ role: 'replica', lifetime: 'restarted', timeline: 1 }))
    expect(r1.timeline).toBe(1)
  })

  it('with a pinned systemId, trusts the configured primary only once its own identifier matches', () => {
    const [p, r1] = [node('p'), node('r1')]
    const topology = new Topology(() => [p, r1], p, new EventHub(), new LagTracker(), true, '7')
    topology.evaluate()
    expect(p.verified).toBe(false) // not probed yet: it could be anything
    expect(topology.primary).toBeUndefined()
    observe(p, 'primary', 1, '99') // the configured URL reaches another cluster's server
    topology.evaluate()
    expect(topology.primary).toBeUndefined()
    expect(p.fencedBecause).toMatch(/system identifier 99 is not the cluster's 7/)
  })

  it('takes an older timeline from a server that restarted after its connection was lost', () => {
    const { r1 } = setup()
    observe(r1, 'replica', 2)
    r1.forgetPosition() // a lost connection: its lifetime is unknown now
    r1.observe(probe({ role: 'primary', lifetime: 'another-start', timeline: 1 }))
    expect(r1.timeline).toBe(1)
  })
})

describe('Topology with Patroni as a second source', () => {
  function withPatroni() {
    const [p, r1, r2] = [node('p'), node('r1'), node('r2')]
    const events = new EventHub()
    const authority = new LeaderAuthority(() => [p, r1, r2])
    const topology = new Topology(() => [p, r1, r2], p, events, new LagTracker(), true, undefined, authority)
    observe(p, 'primary', 1)
    observe(r1, 'replica', 1)
    observe(r2, 'replica', 1)
    const lead = (leader: string | undefined) =>
      authority.update(
        parsePatroniView(
          {
            members: ['p', 'r1', 'r2'].map((name) => ({
              name,
              role: name === leader ? 'leader' : 'replica',
              host: name,
              port: 5432,
            })),
          },
          'test',
        ),
      )
    lead('p')
    topology.evaluate()
    return { p, r1, r2, topology, lead }
  }

  it('writes only to a node both the probe and Patroni name: a server promoted behind its back is fenced', () => {
    const { p, r1, topology } = withPatroni()
    expect(topology.primary).toBe(p)
    // r1 promoted outside Patroni: a newer timeline, which alone would win.
    observe(r1, 'primary', 2)
    topology.evaluate()
    expect(topology.primary).toBe(p)
    expect(r1.fencedBecause).toBe("writable, but Patroni's leader is p")
    expect(topology.mayAcknowledge(p)).toBe(true)
  })

  it('stops writes while Patroni names no leader, and follows the one it names once the server agrees', () => {
    const { p, r1, topology, lead } = withPatroni()
    lead(undefined)
    topology.evaluate()
    expect(topology.primary).toBeUndefined()
    expect(topology.mayAcknowledge(p)).toBe(false)
    lead('r1')
    topology.evaluate()
    expect(topology.primary).toBeUndefined() // r1 is still in recovery
    observe(r1, 'primary', 2)
    topology.evaluate()
    expect(topology.primary).toBe(r1)
    expect(p.state).toBe('fenced') // behind on timeline 1
  })
})
