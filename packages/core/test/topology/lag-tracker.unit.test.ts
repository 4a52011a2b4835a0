import { describe, expect, it } from 'vitest'
import { LagTracker } from '../../src/topology/lag-tracker.js'

describe('LagTracker', () => {
  it('reports no lag for a replica that has what the primary has, however long the primary idles', () => {
    const lag = new LagTracker()
    lag.record(1_000n, 0)
    lag.record(1_000n, 60_000)
    expect(lag.lagBytes(1_000n, 60_000)).toBe(0)
    expect(lag.lagMillis(1_000n, 60_000)).toBe(0)
  })

  it('measures time lag from when the primary passed the replica’s position', () => {
    const lag = new LagTracker()
    lag.record(100n, 0)
    lag.record(200n, 1_000)
    lag.record(300n, 2_000)
    expect(lag.lagBytes(150n, 2_500)).toBe(150)
    expect(lag.lagMillis(150n, 2_500)).toBe(1_500)
    expect(lag.lagMillis(50n, 2_500)).toBe(2_500)
    expect(lag.lagMillis(300n, 2_500)).toBe(0)
  })

  it('judges a replica against the primary as it was when the replica was sampled', () => {
    const lag = new LagTracker()
    lag.record(100n, 0)
    lag.record(900n, 1_000)
    // Sampled at 500 ms, the replica had everything the primary had then.
    expect(lag.lagBytes(100n, 500)).toBe(0)
    expect(lag.lagMillis(100n, 500)).toBe(0)
    expect(lag.lagBytes(100n, 1_200)).toBe(800)
    expect(lag.lagMillis(100n, 1_200)).toBe(200)
  })

  it('forgets samples past its horizon, keeping the latest', () => {
    const lag = new LagTracker(1_000)
    lag.record(100n, 0)
    lag.record(200n, 5_000)
    expect(lag.lagMillis(150n, 5_500)).toBe(500)
    expect(lag.head).toBe(200n)
    lag.reset()
    expect(lag.head).toBeUndefined()
    expect(lag.lagBytes(0n, 6_000)).toBe(0)
  })
})
