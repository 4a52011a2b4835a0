import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../../src/topology/circuit-breaker.js'

const settings = { downAfter: 3, upAfter: 2, intervalMillis: 100, maxBackoffMillis: 1_000 }

describe('CircuitBreaker', () => {
  it('is suspect after one failure and down after downAfter', () => {
    const breaker = new CircuitBreaker(settings)
    expect(breaker.failure()).toEqual({ from: 'healthy', to: 'suspect' })
    expect(breaker.failure()).toBeUndefined()
    expect(breaker.state).toBe('suspect')
    expect(breaker.failure()).toEqual({ from: 'suspect', to: 'down' })
  })

  it('restores a suspect node with one success', () => {
    const breaker = new CircuitBreaker(settings)
    breaker.failure()
    expect(breaker.success()).toEqual({ from: 'suspect', to: 'healthy' })
  })

  it('needs upAfter successes in a row to restore a down node', () => {
    const breaker = new CircuitBreaker(settings)
    for (let i = 0; i < 3; i++) breaker.failure()
    expect(breaker.success()).toBeUndefined()
    expect(breaker.state).toBe('down')
    breaker.failure()
    expect(breaker.success()).toBeUndefined()
    expect(breaker.success()).toEqual({ from: 'down', to: 'healthy' })
  })

  it('backs off exponentially while down, up to the bound', () => {
    const breaker = new CircuitBreaker(settings)
    expect(breaker.nextProbeDelayMillis()).toBe(100)
    const delays: number[] = []
    for (let i = 0; i < 9; i++) {
      breaker.failure()
      delays.push(breaker.nextProbeDelayMillis())
    }
    expect(delays).toEqual([100, 100, 100, 200, 400, 800, 1_000, 1_000, 1_000])
    breaker.success()
    breaker.success()
    expect(breaker.nextProbeDelayMillis()).toBe(100)
  })

  it('confirms a down node that passed a probe at once, not an interval later', () => {
    const breaker = new CircuitBreaker(settings)
    for (let i = 0; i < 5; i++) breaker.failure()
    expect(breaker.nextProbeDelayMillis()).toBe(400)
    breaker.success()
    expect(breaker.state).toBe('down')
    expect(breaker.nextProbeDelayMillis()).toBe(0)
    breaker.success()
    expect(breaker.state).toBe('healthy')
    expect(breaker.nextProbeDelayMillis()).toBe(100)
  })
})
