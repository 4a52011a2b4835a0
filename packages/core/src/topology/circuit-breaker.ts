/** Settings of a {@link CircuitBreaker}. */
export interface BreakerSettings {
  /** Consecutive failures after which the node is down. */
  readonly downAfter: number
  /** Consecutive successes a down node needs to be healthy again. */
  readonly upAfter: number
  /** The probe interval while healthy, and the first backoff step while down. */
  readonly intervalMillis: number
  /** The longest wait between probes of a down node. */
  readonly maxBackoffMillis: number
}

/** The breaker's view of a node. */
export type BreakerState = 'healthy' | 'suspect' | 'down'

/** What a success or failure changed. */
export type BreakerTransition = { from: BreakerState; to: BreakerState } | undefined

/**
 * The health of one node as a circuit breaker, pure and clock-free: suspect after
 * one failure, down after `downAfter`, healthy again after `upAfter` successes in a
 * row. While a node fails, probes back off exponentially up to `maxBackoffMillis`,
 * so a dead node costs little.
 */
export class CircuitBreaker {
  readonly #settings: BreakerSettings
  #state: BreakerState = 'healthy'
  #failures = 0
  #successes = 0

  constructor(settings: BreakerSettings) {
    this.#settings = settings
  }

  get state(): BreakerState {
    return this.#state
  }

  /** Records a passed probe or query. */
  success(): BreakerTransition {
    this.#failures = 0
    if (this.#state === 'healthy') return undefined
    this.#successes++
    // A suspect node was never cut off for long: one success restores it.
    if (this.#state === 'suspect' || this.#successes >= this.#settings.upAfter) return this.#move('healthy')
    return undefined
  }

  /** Records a failed probe, or a connection-level failure of a query. */
  failure(): BreakerTransition {
    this.#successes = 0
    this.#failures++
    // A down node that fails again stays down: only upAfter successes restore it.
    if (this.#state === 'down' || this.#failures >= this.#settings.downAfter) return this.#move('down')
    return this.#move('suspect')
  }

  /** How long to wait before the next probe. */
  nextProbeDelayMillis(): number {
    const { intervalMillis, maxBackoffMillis } = this.#settings
    // A down node that just passed a probe is confirmed at once: its upAfter
    // successes take that many round trips, not that many intervals.
    if (this.#state === 'down' && this.#successes > 0) return 0
    if (this.#state !== 'down') return intervalMillis
    const steps = Math.min(this.#failures - this.#settings.downAfter, 10)
    return Math.min(intervalMillis * 2 ** steps, maxBackoffMillis)
  }

  #move(to: BreakerState): BreakerTransition {
    const from = this.#state
    if (from === to) return undefined
    this.#state = to
    this.#successes = 0
    return { from, to }
  }
}
