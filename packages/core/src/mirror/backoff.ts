/** Waits that never keep the process alive, and that `close()` can cut short. */
export class Backoff {
  #timer: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined

  /** The wait before retry number `attempt` (0-based): 50 ms doubling, at most 2 s. */
  static delay(attempt: number): number {
    return Math.min(50 * 2 ** attempt, 2_000)
  }

  /** Resolves after `millis`, or at once when {@link cancel} is called. */
  sleep(millis: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve
      this.#timer = setTimeout(resolve, millis)
      this.#timer.unref()
    })
  }

  /** Ends the current wait now. */
  cancel(): void {
    clearTimeout(this.#timer)
    this.#wake?.()
  }
}
