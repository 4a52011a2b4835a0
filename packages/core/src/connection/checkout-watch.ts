import { closedError } from '../errors/causeway-error.js'

/**
 * Pool checkouts still waiting for a connection, failed as `CLOSED` when the
 * cluster closes: pg-pool's `end()` never settles the checkouts still queued, so
 * without this a statement waiting for a connection would hang.
 */
export class CheckoutWatch {
  readonly #waiting = new Set<(error: Error) => void>()
  #closed = false

  /** Whether the cluster is closed: nothing new is sent. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Has `cancel` called with a `CLOSED` error when the cluster closes (at once if
   * it is closed). Returns the function that stops watching.
   */
  watch(cancel: (error: Error) => void): () => void {
    if (this.#closed) {
      cancel(closedError())
      return () => {}
    }
    this.#waiting.add(cancel)
    return () => this.#waiting.delete(cancel)
  }

  /** Marks the cluster closed and fails every checkout still waiting. */
  close(): void {
    this.#closed = true
    const waiting = [...this.#waiting]
    this.#waiting.clear()
    for (const cancel of waiting) cancel(closedError())
  }
}
