import { describe, expect, it } from 'vitest'
import type { ConsistencyToken } from '../../src/consistency/token.js'
import { EventHub } from '../../src/events/event-hub.js'
import type { Balancer } from '../../src/model/balancer.js'
import { eligible, Router } from '../../src/routing/router.js'
import type { DbNode, ProbeResult } from '../../src/topology/db-node.js'
import { LagTracker } from '../../src/topology/lag-tracker.js'
import { Topology } from '../../src/topology/topology.js'
import { detachedNode } from '../support/detached-node.js'
import { probeResult } from '../support/probe-result.js'

const token = (lsn: bigint, timeline = 1, systemId = '7'): ConsistencyToken => ({ systemId, timeline, lsn })

/** What a probe of `node` saw (its own server lifetime), with `fields` changed. */
const probe = (node: DbNode, fields: Partial<ProbeResult>) =>
  probeResult({ lifetime: `${node.name}-1`, ...fields })

/** Always the first candidate: the tests decide which nodes are candidates, not the balancer. */
const first: Balancer = { pick: () => 0 }

/** A primary p at LSN 500 and replicas r1 (LSN 100) and r2 (LSN 200), all of system 7 on timeline 1. */
function setup(replicaCount = 2) {
  const p = detachedNode('p')
  const replicas = Array.from({ length: replicaCount }, (_, i) => detachedNode(`r${i + 1}`))
  const all = [p, ...replicas]
  const topology = new Topology(() => all, p, new EventHub(), new LagTracker(), true)
  p.observe(probe(p, { role: 'primary', lsn: 500n }))
  replicas.forEach((r, i) => {
    r.observe(probe(r, { lsn: BigInt(100 * (i + 1)) }))
  })
  topology.evaluate()
  const router = new Router(() => replicas, topology, first)
  return { p, replicas, topology, router, r1: replicas[0]!, r2: replicas[1]! }
}

describe('Router.routeRead', () => {
  it("falls back with 'no-replica' when the cluster has none", () => {
    const { router } = setup(0)
    expect(router.routeRead(undefined)).toEqual({ node: undefined, fallback: 'no-replica' })
  })

  it('picks a replica for a read with no token', () => {
    const { router, r1 } = setup()
    expect(router.routeRead(undefined).node).toBe(r1)
  })

  it('picks only replicas that have replayed the token', () => {
    const { router, r2 } = setup()
    expect(router.routeRead(token(150n)).node).toBe(r2)
  })

  it("falls back with 'all-replicas-unhealthy' when no replica is healthy, verified and unfenced", () => {
    const { router, r1, r2, topology } = setup()
    r1.breaker.failure() // suspect
    r2.draining = true
    expect(router.routeRead(undefined)).toEqual({ node: undefined, fallback: 'all-replicas-unhealthy' })
    r2.draining = false
    r2.observe(probe(r2, { systemId: '99' })) // another cluster's server
    topology.evaluate()
    expect(r2.state).toBe('fenced')
    expect(router.routeRead(undefined).fallback).toBe('all-replicas-unhealthy')
  })

  it("falls back with 'all-replicas-lagging' when every healthy replica is past maxLag", () => {
    const { router, r1, r2 } = setup()
    r1.lagging = true
    r2.lagging = true
    expect(router.routeRead(undefined)).toEqual({ node: undefined, fallback: 'all-replicas-lagging' })
  })

  it("falls back with 'not-caught-up', to wait for the replicas of the token's timeline only", () => {
    const { router, replicas } = setup(3)
    const [r1, r2, r3] = replicas as [DbNode, DbNode, DbNode]
    // r3 shows another timeline (not yet re-evaluated): no wait on it can reach a timeline-1 LSN.
    r3.observe(probe(r3, { timeline: 2, lsn: 900n }))
    expect(router.routeRead(token(400n))).toEqual({
      node: undefined,
      fallback: 'not-caught-up',
      waitFor: [r1, r2],
    })
  })

  it("falls back with 'not-caught-up' and nothing to wait for when no healthy replica is on the token's timeline", () => {
    const { router, r1, r2 } = setup()
    r1.observe(probe(r1, { timeline: 2 }))
    r2.observe(probe(r2, { timeline: 2 }))
    expect(router.routeRead(token(50n))).toEqual({ node: undefined, fallback: 'not-caught-up' })
  })

  it('does not wait for a lagging replica, even on the token’s timeline', () => {
    const { router, r1, r2 } = setup()
    r1.lagging = true
    expect(router.routeRead(token(400n))).toEqual({
      node: undefined,
      fallback: 'not-caught-up',
      waitFor: [r2],
    })
  })

  it('skips the nodes this read already failed on', () => {
    const { router, r1, r2 } = setup()
    expect(router.routeRead(undefined, new Set([r1])).node).toBe(r2)
    expect(router.routeRead(undefined, new Set([r1, r2]))).toEqual({
      node: undefined,
      fallback: 'all-replicas-unhealthy',
    })
  })

  it('sees membership and position changes at the next read', () => {
    const { router, r1, r2 } = setup()
    expect(router.routeRead(token(300n)).node).toBeUndefined()
    r1.advance(300n)
    expect(router.routeRead(token(300n)).node).toBe(r1)
    r1.breaker.failure()
    expect(router.routeRead(undefined).node).toBe(r2)
  })

  it('lets the balancer choose among the eligible replicas only', () => {
    const { p, replicas, topology } = setup(3)
    const seen: string[][] = []
    const router = new Router(() => replicas, topology, {
      pick: (candidates) => {
        seen.push(candidates.map((c) => c.name))
        return 1
      },
    })
    expect(p.role).toBe('primary')
    expect(router.routeRead(token(150n))?.node?.name).toBe('r3')
    expect(seen).toEqual([['r2', 'r3']])
  })
})

describe('eligible()', () => {
  it('holds for a healthy, verified, caught-up replica, and for any replica without a token', () => {
    const { r1 } = setup()
    expect(eligible(r1, undefined, undefined)).toBe(true)
    expect(eligible(r1, token(100n), undefined)).toBe(true)
  })

  it('fails on each step of the rule', () => {
    const { p, r1, r2 } = setup()
    expect(eligible(p, undefined, undefined)).toBe(false) // not a replica
    expect(eligible(r1, token(101n), undefined)).toBe(false) // not caught up
    expect(eligible(r1, token(100n, 2), undefined)).toBe(false) // another timeline
    expect(eligible(r1, undefined, new Set([r1]))).toBe(false) // already failed this read
    r1.lagging = true
    expect(eligible(r1, undefined, undefined)).toBe(false)
    r2.breaker.failure()
    expect(eligible(r2, undefined, undefined)).toBe(false)
  })

  it('refuses a replica whose identity is not verified', () => {
    const p = detachedNode('p')
    const r = detachedNode('r')
    const topology = new Topology(() => [p, r], p, new EventHub(), new LagTracker(), true)
    r.observe(probe(r, {})) // the primary has not answered yet: the cluster's identity is unknown
    topology.evaluate()
    expect(r.state).toBe('unverified')
    expect(eligible(r, undefined, undefined)).toBe(false)
  })
})

describe('Router.tokenProblem', () => {
  it('accepts a token of this system and timeline', () => {
    const { router } = setup()
    expect(router.tokenProblem(token(1n))).toBeUndefined()
  })

  it("names another system's token 'system'", () => {
    const { router } = setup()
    expect(router.tokenProblem(token(1n, 1, '8'))).toBe('system')
  })

  it("names a token of an older timeline 'timeline', and one of a newer timeline 'newer'", () => {
    const { p, router, topology } = setup()
    p.observe(probe(p, { role: 'primary', timeline: 2 }))
    topology.evaluate()
    expect(topology.timeline).toBe(2)
    expect(router.tokenProblem(token(1n, 1))).toBe('timeline')
    expect(router.tokenProblem(token(1n, 2))).toBeUndefined()
    expect(router.tokenProblem(token(1n, 3))).toBe('newer')
  })
})
