import { describe, expect, it } from 'vitest'
import type { Candidate } from '../../src/model/balancer.js'
import { createBalancer } from '../../src/routing/balancers/create-balancer.js'
import { FastestBalancer } from '../../src/routing/balancers/fastest.js'
import { LeastBusyBalancer } from '../../src/routing/balancers/least-busy.js'
import { RandomBalancer } from '../../src/routing/balancers/random.js'
import { RoundRobinBalancer } from '../../src/routing/balancers/round-robin.js'

const node = (name: string, extra: Partial<Candidate> = {}): Candidate => ({
  name,
  weight: 1,
  inFlight: 0,
  latencyMillis: 1,
  ...extra,
})

function tally(pick: () => number, candidates: readonly Candidate[], times: number): Record<string, number> {
  const counts: Record<string, number> = {}
  for (let i = 0; i < times; i++) {
    const name = candidates[pick()]!.name
    counts[name] = (counts[name] ?? 0) + 1
  }
  return counts
}

describe('round-robin', () => {
  it('takes every replica in turn', () => {
    const balancer = new RoundRobinBalancer()
    const nodes = [node('a'), node('b'), node('c')]
    const order = Array.from({ length: 6 }, () => nodes[balancer.pick(nodes)]!.name)
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('respects weights, interleaved rather than bunched', () => {
    const balancer = new RoundRobinBalancer()
    const nodes = [node('a', { weight: 2 }), node('b')]
    const order = Array.from({ length: 6 }, () => nodes[balancer.pick(nodes)]!.name)
    expect(order).toEqual(['a', 'b', 'a', 'a', 'b', 'a'])
  })
})

describe('least-busy', () => {
  it('picks the replica with the fewest queries in flight', () => {
    const nodes = [node('a', { inFlight: 3 }), node('b', { inFlight: 1 }), node('c', { inFlight: 2 })]
    expect(new LeastBusyBalancer().pick(nodes)).toBe(1)
  })

  it('weighs in-flight counts by weight', () => {
    const nodes = [node('a', { inFlight: 2, weight: 4 }), node('b', { inFlight: 1 })]
    expect(new LeastBusyBalancer().pick(nodes)).toBe(0)
  })

  it('breaks ties in rotation, so a sequential load spreads, by weight', () => {
    const balancer = new LeastBusyBalancer()
    const nodes = [node('a'), node('b', { weight: 3 })]
    expect(tally(() => balancer.pick(nodes), nodes, 400)).toEqual({ a: 100, b: 300 })
  })

  it('rotates only among the tied', () => {
    const balancer = new LeastBusyBalancer()
    const nodes = [node('a'), node('b', { inFlight: 5 }), node('c')]
    expect(tally(() => balancer.pick(nodes), nodes, 10)).toEqual({ a: 5, c: 5 })
  })
})

describe('random', () => {
  it('spreads in proportion to weight', () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const nodes = [node('a'), node('b', { weight: 3 })]
    const balancer = new RandomBalancer(random)
    const counts = tally(() => balancer.pick(nodes), nodes, 20_000)
    expect(counts.b! / 20_000).toBeGreaterThan(0.72)
    expect(counts.b! / 20_000).toBeLessThan(0.78)
  })
})

describe('fastest', () => {
  it('sends reads to the replica with the lowest latency', () => {
    const nodes = [node('a', { latencyMillis: 5 }), node('b', { latencyMillis: 1 })]
    expect(tally(() => new FastestBalancer().pick(nodes), nodes, 5)).toEqual({ b: 5 })
  })

  it('treats replicas within 10% as tied and rotates among them', () => {
    const balancer = new FastestBalancer()
    const nodes = [
      node('a', { latencyMillis: 1.05 }),
      node('b', { latencyMillis: 1 }),
      node('c', { latencyMillis: 3 }),
    ]
    expect(tally(() => balancer.pick(nodes), nodes, 10)).toEqual({ a: 5, b: 5 })
  })
})

describe('a user function', () => {
  it('is called with the candidates, and an out-of-range answer falls back to the first', () => {
    const nodes = [node('a'), node('b')]
    expect(createBalancer(() => 1).pick(nodes)).toBe(1)
    expect(createBalancer(() => 7).pick(nodes)).toBe(0)
    expect(createBalancer(() => Number.NaN).pick(nodes)).toBe(0)
  })
})
