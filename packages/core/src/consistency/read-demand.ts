/** How long one read that wanted a token keeps eager capture on. */
const DEMAND_WINDOW_MILLIS = 1_000

/**
 * Whether reads have lately wanted tokens: eager capture pays only when they do.
 * An app that writes and never reads back (a batch import, a queue consumer)
 * gets no capture at all; the first read that wants a token takes it itself (on
 * the primary meanwhile) and turns eager capture on for the next second.
 */
export class ReadDemand {
  #at = Number.NEGATIVE_INFINITY

  /** A read wanted a token (it had one, or its scope's was still to be captured). */
  mark(): void {
    this.#at = performance.now()
  }

  /** Whether a read wanted a token within the last second. */
  recent(): boolean {
    return performance.now() - this.#at < DEMAND_WINDOW_MILLIS
  }
}
