import type { ConsistencyScope } from './consistency-scope.js'

/**
 * Eager capture, paced: the scopes that wrote are captured together, at most one
 * round every `gapMillis`, a little after the first write of a burst. One capture
 * (one `select pg_current_wal_insert_lsn()`) then serves every write of the gap,
 * however many sessions made them: under a steady stream of single-row writes
 * the primary gets one small query per gap, not one per write. A read sent
 * before the capture goes to the primary anyway (it has the write), and one sent
 * later than the gap finds its token ready. `cluster.token()` does not wait for
 * the pacer: it captures at once.
 */
export class CapturePacer {
  readonly #gapMillis: number
  readonly #due = new Set<ConsistencyScope>()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(gapMillis: number) {
    this.#gapMillis = gapMillis
  }

  /** Has `scope`'s deferred writes captured within the gap. */
  schedule(scope: ConsistencyScope): void {
    if (this.#stopped) return
    this.#due.add(scope)
    if (this.#timer) return
    this.#timer = setTimeout(() => this.#flush(), this.#gapMillis)
    // Nothing waits on it: a read goes to the primary meanwhile, and token() captures itself.
    this.#timer.unref()
  }

  /** Stops the timer (the cluster is closing); scheduled captures are dropped. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#due.clear()
  }

  #flush(): void {
    this.#timer = undefined
    const due = [...this.#due]
    this.#due.clear()
    for (const scope of due) void scope.settle()
  }
}
