import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { ApplyFailure, applyAlone, applyTransaction } from './apply-transaction.js'
import { Backoff } from './backoff.js'
import type { MirrorHealth } from './mirror-health.js'
import { type MirroredStatement, sizeOf } from './mirrored-statement.js'
import { createOnce } from './outbox-relay.js'
import { CREATE_PROGRESS, OUTBOX_SCHEMA } from './outbox-sql.js'

/** One committed transaction (or autocommit statement) waiting for the mirror. */
interface Item {
  readonly statements: readonly MirroredStatement[]
  readonly bytes: number
  /** When the primary acknowledged it. */
  readonly at: number
  /** Its number in this queue, recorded on the mirror by the transaction that applies it. */
  readonly seq: number
  /** A sync mirror's waiting write. */
  readonly done?: { resolve(): void; reject(error: Error): void }
}

/** The most committed transactions one replay applies together, and their most bytes. */
const BATCH_ITEMS = 256
const BATCH_BYTES = 1 << 20

/** Bounds of the in-memory backlog, and how long a replay gathers writes (`gatherMillis`). */
export interface BacklogBounds {
  readonly maxStatements: number
  readonly maxBytes: number
  /**
   * How long a replay waits once writes are queued, so that the writes of the next
   * moment go in the same batch (a sync mirror's waiting write starts it at once).
   * It keeps the replay's round trips, and the mirror's commits, off each write.
   */
  readonly gatherMillis: number
}

/**
 * The in-memory replay of one mirror: committed transactions in the primary's
 * commit order (as `MirrorSet` releases them), applied on a single connection.
 * What waits is applied together, in one mirror transaction of up to 256 of them
 * (pipelined: two round trips), gathered for `gatherMillis` first, so that a
 * replay keeps up with the primary and costs its write path little;
 * after a divergence in a batch, they are applied one by one up to the culprit.
 * A statement that cannot run in a transaction block goes alone. A mirror that cannot be reached is retried with backoff, in
 * order; past the backlog's bounds, or at a write the mirror rejects, it goes out
 * of sync and stops. What is queued lives in this process only: a crash or
 * `close()` loses it (see `durable` for the mode that does not).
 */
export class ReplayQueue {
  readonly #pool: pg.Pool
  readonly #health: MirrorHealth
  readonly #bounds: BacklogBounds
  readonly #items: Item[] = []
  readonly #backoff = new Backoff()
  #statements = 0
  #bytes = 0
  #client: pg.PoolClient | undefined
  #running = false
  /** The gathering wait before an async replay starts. */
  #gather: NodeJS.Timeout | undefined
  /** Queued items a sync mirror's write waits for: while there is one, replays do not gather. */
  #waiting = 0
  #closed = false
  #seq = 0
  /**
   * This queue's row in the mirror's `causeway_mirror.progress` (a literal: a UUID).
   * Each replay sets it to its item's number in the same transaction, in the same
   * round trip as its COMMIT: when the connection is lost during that COMMIT, the
   * row says whether it applied, so the item is neither lost nor applied twice.
   */
  readonly #key = `replay:${randomUUID()}`
  /** An item whose COMMIT's outcome is not known yet. */
  #unsure: number | undefined
  /** Items still to apply one at a time, to find the one a batch diverged at. */
  #narrow = 0

  constructor(pool: pg.Pool, health: MirrorHealth, bounds: BacklogBounds) {
    this.#pool = pool
    this.#health = health
    this.#bounds = bounds
  }

  /** Statements and bytes not yet applied. */
  get backlog(): { statements: number; bytes: number } {
    return { statements: this.#statements, bytes: this.#bytes }
  }

  /** How long the oldest unapplied transaction has waited since the primary acknowledged it. */
  get lagMillis(): number {
    const oldest = this.#items[0]
    return oldest === undefined ? 0 : Date.now() - oldest.at
  }

  /**
   * Queues a committed transaction. With `wait`, returns a promise settled when it
   * is applied (or will never be); otherwise `undefined`, and the caller goes on.
   */
  push(statements: readonly MirroredStatement[], wait: boolean): Promise<void> | undefined {
    const health = this.#health
    if (this.#closed || health.state === 'out-of-sync') {
      health.notApplied += statements.length
      return wait ? Promise.reject(new Error(health.lastError ?? 'the mirror is out of sync')) : undefined
    }
    let bytes = 0
    for (const statement of statements) bytes += sizeOf(statement)
    const bounds = this.#bounds
    if (
      this.#statements + statements.length > bounds.maxStatements ||
      this.#bytes + bytes > bounds.maxBytes
    ) {
      const error = `the backlog is full (${this.#statements} statements, ${this.#bytes} bytes; bounds ${bounds.maxStatements} statements, ${bounds.maxBytes} bytes)`
      this.#stop('backlog-full', error, statements.length)
      return wait ? Promise.reject(new Error(error)) : undefined
    }
    let settled: Promise<void> | undefined
    let done: Item['done']
    if (wait) settled = new Promise<void>((resolve, reject) => (done = { resolve, reject }))
    this.#items.push({ statements, bytes, at: Date.now(), seq: ++this.#seq, ...(done ? { done } : {}) })
    this.#statements += statements.length
    this.#bytes += bytes
    if (wait) this.#waiting++
    if (this.#running) return settled
    if (wait) {
      clearTimeout(this.#gather)
      this.#gather = undefined
      void this.#drain()
    } else this.#gatherThenDrain()
    return settled
  }

  /** Stops replaying; what is queued is not applied (and counted as not applied). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#gather)
    this.#backoff.cancel()
    this.#health.notApplied += this.#statements
    this.#reject(new Error('the cluster closed before the mirror applied this write'))
    // Destroyed, not returned: a replay may be in flight on it.
    this.#client?.release(true)
    this.#client = undefined
  }

  async #drain(): Promise<void> {
    this.#running = true
    const health = this.#health
    let attempt = 0
    try {
      while (!this.#closed && health.state !== 'out-of-sync') {
        if (this.#items.length === 0) break
        let batch: Item[] = []
        try {
          const client = await this.#connect()
          const unsure = this.#unsure
          if (unsure !== undefined) {
            // The last replay's COMMIT went unanswered: its progress row says whether it
            // applied (the queue may have grown since, so its batch is found by number).
            const applied = await this.#appliedAlready(client, unsure)
            this.#unsure = undefined
            if (applied) {
              if (this.#closed) return
              this.#completed(this.#items.findIndex((item) => item.seq > unsure))
              continue
            }
          }
          batch = this.#batch()
          const last = batch[batch.length - 1]!
          const statements = batch.length === 1 ? last.statements : batch.flatMap((item) => item.statements)
          const progress = `insert into ${OUTBOX_SCHEMA}.progress (mirror, last_id) values ('${this.#key}', ${last.seq})
                on conflict (mirror) do update set last_id = excluded.last_id`
          if (statements.length === 1 && statements[0]!.alone) {
            // Outside a transaction, as on the primary; recorded once it ran.
            this.#unsure = last.seq
            await applyAlone(client, statements[0]!)
            await client.query(progress)
            this.#unsure = undefined
          } else {
            await applyTransaction(client, statements, { commit: `${progress}; commit` })
          }
        } catch (error) {
          if (this.#closed) return
          const failure =
            error instanceof ApplyFailure ? error : new ApplyFailure('retry', undefined, { cause: error })
          const last = batch[batch.length - 1]
          // Kept only after a clean rollback: a lost or unknown connection is replaced.
          if (failure.kind !== 'divergence') this.#dropClient(failure)
          if (failure.kind === 'commit-unknown' && last) this.#unsure = last.seq
          else if (failure.kind !== 'retry') this.#unsure = undefined
          if (failure.kind === 'retry' || failure.kind === 'commit-unknown' || !last) {
            health.retrying(failure)
            await this.#backoff.sleep(Backoff.delay(attempt++))
            continue
          }
          if (batch.length > 1) {
            // Nothing of the batch applied: find the culprit one by one.
            this.#narrow = batch.length
            continue
          }
          if (cannotRunInBlock(failure) && last.statements.length === 1 && !last.statements[0]!.alone) {
            // VACUUM, CREATE INDEX CONCURRENTLY: the primary ran it first in its flight,
            // outside any block. Rolled back here; apply it alone.
            this.#items[0] = { ...last, statements: [{ ...last.statements[0]!, alone: true }] }
            continue
          }
          this.#items.shift()
          this.#statements -= last.statements.length
          this.#bytes -= last.bytes
          if (last.done) this.#waiting--
          last.done?.reject(failure)
          health.diverged(failure, last.statements.length)
          this.#stop(undefined, '', 0)
          return
        }
        // Closed, or out of sync, while it applied: the queue was emptied meanwhile.
        if (this.#closed || this.#items[0] !== batch[0]) return
        attempt = 0
        this.#completed(batch.length)
        // A short queue with no write waiting gathers more before the next replay.
        const left = this.#items.length
        const gathers = this.#bounds.gatherMillis > 0 && this.#waiting === 0 && this.#narrow === 0
        if (gathers && left > 0 && left < BATCH_ITEMS) {
          this.#gatherThenDrain()
          return
        }
      }
      if (this.#items.length === 0) health.caughtUp()
    } finally {
      this.#running = false
    }
  }

  /** The first `count` items (every item when -1) applied: off the queue, counted, their waiters told. */
  #completed(count: number): void {
    const done = this.#items.splice(0, count < 0 ? this.#items.length : count)
    this.#narrow = Math.max(0, this.#narrow - done.length)
    for (const item of done) {
      this.#statements -= item.statements.length
      this.#bytes -= item.bytes
      this.#health.applied += item.statements.length
      if (item.done) {
        this.#waiting--
        item.done.resolve()
      }
    }
  }

  /**
   * The items the next replay applies: from the head, up to the batch's bounds and
   * up to a statement that must go alone (which goes by itself); one while narrowing.
   */
  #batch(): Item[] {
    const items = this.#items
    const limit = this.#narrow > 0 ? 1 : BATCH_ITEMS
    let bytes = 0
    let end = 0
    while (end < items.length && end < limit) {
      const item = items[end]!
      if (item.statements.some((s) => s.alone)) {
        if (end === 0) end = 1
        break
      }
      if (end > 0 && bytes + item.bytes > BATCH_BYTES) break
      bytes += item.bytes
      end++
    }
    return items.slice(0, end)
  }

  async #connect(): Promise<pg.PoolClient> {
    if (this.#client) return this.#client
    const client = await this.#pool.connect()
    try {
      await createOnce((sql) => client.query(sql), CREATE_PROGRESS)
    } catch (error) {
      client.release(error as Error)
      throw error
    }
    this.#client = client
    return client
  }

  /** Whether the item whose COMMIT's outcome was lost did commit. */
  async #appliedAlready(client: pg.PoolClient, seq: number): Promise<boolean> {
    const { rows } = await client.query(`select last_id from ${OUTBOX_SCHEMA}.progress where mirror = $1`, [
      this.#key,
    ])
    return rows.length > 0 && Number(rows[0].last_id) >= seq
  }

  #dropClient(failure: Error): void {
    this.#client?.release(failure)
    this.#client = undefined
  }

  /** Out of sync: everything queued is dropped, counted, and its waiters told. */
  #stop(reason: 'backlog-full' | undefined, error: string, more: number): void {
    const dropped = this.#statements + more
    this.#reject(new Error(error || this.#health.lastError || 'the mirror is out of sync'))
    if (reason) this.#health.outOfSync(reason, error, dropped)
    else this.#health.notApplied += dropped
  }

  #reject(error: Error): void {
    for (const item of this.#items.splice(0)) item.done?.reject(error)
    this.#statements = 0
    this.#bytes = 0
    this.#waiting = 0
  }

  /** Starts a replay in `gatherMillis`, unless one is already due. */
  #gatherThenDrain(): void {
    if (this.#gather !== undefined || this.#closed) return
    if (this.#bounds.gatherMillis === 0) {
      if (!this.#running) void this.#drain()
      return
    }
    this.#gather = setTimeout(() => {
      this.#gather = undefined
      if (!this.#running) void this.#drain()
    }, this.#bounds.gatherMillis)
    this.#gather.unref()
  }
}

/** 25001 on the mirror: the statement cannot run in a transaction block, and nothing of the transaction applied. */
function cannotRunInBlock(failure: ApplyFailure): boolean {
  return (
    failure.kind === 'divergence' &&
    (failure.detail.cause as { code?: unknown } | undefined)?.code === '25001'
  )
}
