import type { Lsn } from '../consistency/lsn.js'

/**
 * The primary's WAL position over time, to tell how far behind a replica is in
 * milliseconds. `now() - pg_last_xact_replay_timestamp()` is wrong on an idle
 * primary: it grows without bound while the replica is fully caught up. Instead,
 * a replica's lag is the time since the primary passed the replica's replay
 * position: zero when the replica has everything the primary has.
 */
export class LagTracker {
  readonly #times: number[] = []
  readonly #positions: Lsn[] = []
  readonly #horizonMillis: number

  constructor(horizonMillis = 120_000) {
    this.#horizonMillis = horizonMillis
  }

  /** Records the primary's position at a time. */
  record(lsn: Lsn, now: number): void {
    const last = this.#positions.at(-1)
    // Keep only the samples where the position moved: an idle primary adds nothing.
    if (last !== undefined && lsn <= last) return
    this.#times.push(now)
    this.#positions.push(lsn)
    while (this.#times.length > 1 && this.#times[0]! < now - this.#horizonMillis) {
      this.#times.shift()
      this.#positions.shift()
    }
  }

  /** The primary's latest known position. */
  get head(): Lsn | undefined {
    return this.#positions.at(-1)
  }

  /**
   * Bytes the replica was behind when it was sampled at `at`: the primary's last
   * known position at or before that moment, minus `replay`. Comparing with a
   * newer primary sample would count writes made after the replica's sample as lag.
   */
  lagBytes(replay: Lsn, at: number): number {
    const head = this.#positionAt(at)
    return head === undefined || replay >= head ? 0 : Number(head - replay)
  }

  /** Milliseconds, at `at`, since the primary first passed `replay`; 0 when caught up. */
  lagMillis(replay: Lsn, at: number): number {
    for (let i = 0; i < this.#positions.length && this.#times[i]! <= at; i++) {
      if (this.#positions[i]! > replay) return at - this.#times[i]!
    }
    return 0
  }

  #positionAt(at: number): Lsn | undefined {
    let position: Lsn | undefined
    for (let i = 0; i < this.#times.length && this.#times[i]! <= at; i++) position = this.#positions[i]
    return position
  }

  /** Forgets the history: the primary changed, and positions of the old one mean nothing. */
  reset(): void {
    this.#times.length = 0
    this.#positions.length = 0
  }
}
