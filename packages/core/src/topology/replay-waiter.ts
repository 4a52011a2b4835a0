import { type Lsn, parseLsn } from '../consistency/lsn.js'
import type { DbNode } from './db-node.js'

/** Reads a replica's replay position now. */
export type ReplayCheck = (node: DbNode) => Promise<Lsn | undefined>

/** A replica's replay position now, on its side connection: what synchronous mirroring polls. */
export async function readReplayLsn(node: DbNode): Promise<Lsn | undefined> {
  const [row] = await node.side.run<{ lsn: string | null }>('select pg_last_wal_replay_lsn()::text as lsn')
  return row?.lsn ? parseLsn(row.lsn) : undefined
}

interface Waiter {
  readonly lsn: Lsn
  readonly resolve: (node: DbNode | undefined) => void
}

/**
 * Waits, for a bounded time, until some replica has replayed a position: for
 * client-side synchronous mirroring (`sync`), whose write returns only once the
 * replicas have it. Reads do not use it: each carries its own proof.
 *
 * Each replica is re-checked with a fast query (`pg_last_wal_replay_lsn()`): at
 * once, then at growing gaps (1, 2, 4… ms, up to `pollMillis`) while a write
 * waits. Checks are shared: one loop per replica serves every waiting write, and
 * every answer raises the cached position. The loop goes on for `warmMillis` after
 * the last wait began, so that under a stream of mirrored writes the cached
 * positions stay fresh and most need not wait at all; with no such load, it stops.
 */
export class ReplayWaiter {
  readonly #check: ReplayCheck
  readonly #waiters = new Map<DbNode, Set<Waiter>>()
  readonly #looping = new Set<DbNode>()
  readonly #warmUntil = new Map<DbNode, number>()
  readonly #now: () => number
  readonly #pollMillis: number
  readonly #warmMillis: number
  #stopped = false

  constructor(check: ReplayCheck, pollMillis = 5, warmMillis = 250, now: () => number = Date.now) {
    this.#check = check
    this.#pollMillis = pollMillis
    this.#warmMillis = warmMillis
    this.#now = now
  }

  /** Ends every polling loop (the cluster is closing). */
  stop(): void {
    this.#stopped = true
  }

  /**
   * Resolves with the first of `nodes` seen at or past `lsn`, or undefined when
   * `maxWaitMillis` passes first or `signal` aborts.
   */
  waitForAny(
    nodes: readonly DbNode[],
    lsn: Lsn,
    maxWaitMillis: number,
    signal?: AbortSignal,
  ): Promise<DbNode | undefined> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(undefined)
      const entries: [DbNode, Waiter][] = []
      let done = false
      const finish = (node: DbNode | undefined) => {
        if (done) return
        done = true
        clearTimeout(timer)
        for (const [n, w] of entries) this.#waiters.get(n)?.delete(w)
        resolve(node)
      }
      // Not unref'd: a caller awaits this, and it is bounded. Only background
      // timers (the health probes) may let the process exit under them.
      const timer = setTimeout(() => finish(undefined), maxWaitMillis)
      signal?.addEventListener('abort', () => finish(undefined), { once: true })
      for (const node of nodes) {
        const waiter: Waiter = { lsn, resolve: finish }
        entries.push([node, waiter])
        let set = this.#waiters.get(node)
        if (!set) {
          set = new Set()
          this.#waiters.set(node, set)
        }
        set.add(waiter)
        this.#warmUntil.set(node, this.#now() + this.#warmMillis)
        if (!this.#looping.has(node)) void this.#loop(node)
      }
    })
  }

  async #loop(node: DbNode): Promise<void> {
    this.#looping.add(node)
    // Replay usually takes a fraction of a millisecond: the first re-checks come fast.
    let gap = 1
    try {
      for (;;) {
        const waiters = this.#waiters.get(node)
        const waiting = waiters !== undefined && waiters.size > 0
        if (this.#stopped || (!waiting && this.#now() >= (this.#warmUntil.get(node) ?? 0))) return
        let position: Lsn | undefined
        try {
          position = await this.#check(node)
        } catch {
          // The node is failing; the health monitor handles it. Stop checking it.
          return
        }
        if (position !== undefined) {
          node.advance(position)
          if (waiters) for (const waiter of [...waiters]) if (position >= waiter.lsn) waiter.resolve(node)
        }
        const stillWaiting = waiters !== undefined && waiters.size > 0
        const delay = stillWaiting ? Math.min(gap, this.#pollMillis) : this.#pollMillis
        gap = stillWaiting ? gap * 2 : 1
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay)
          // A read waits on this loop: keep the process alive then, not while only warm.
          if (!stillWaiting) timer.unref()
        })
      }
    } finally {
      this.#looping.delete(node)
    }
  }
}
