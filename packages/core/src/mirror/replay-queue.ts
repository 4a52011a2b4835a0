import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { ApplyFailure, applyTransaction } from './apply-transaction.js'
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

/** Bounds of the in-memory backlog. */
export interface BacklogBounds {
  readonly maxStatements: number
  readonly maxBytes: number
}

/**
 * The in-memory replay of one mirror: committed transactions in this process's
 * acknowledgement order, applied one at a time on a single connection, each as
 * one transaction. A mirror that cannot be reached is retried with backoff, in
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
    if (!this.#running) void this.#drain()
    return settled
  }

  /** Stops replaying; what is queued is not applied (and counted as not applied). */
  close(): void {
    this.#closed = true
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
        const item = this.#items[0]
        if (item === undefined) break
        try {
          const client = await this.#connect()
          if (this.#unsure !== item.seq || !(await this.#appliedAlready(client, item.seq))) {
            await applyTransaction(client, item.statements, {
              commit: `insert into ${OUTBOX_SCHEMA}.progress (mirror, last_id) values ('${this.#key}', ${item.seq})
                on conflict (mirror) do update set last_id = excluded.last_id; commit`,
            })
          }
          this.#unsure = undefined
        } catch (error) {
          if (this.#closed) return
          const failure =
            error instanceof ApplyFailure ? error : new ApplyFailure('retry', undefined, { cause: error })
          // Kept only after a clean rollback: a lost or unknown connection is replaced.
          if (failure.kind !== 'divergence') this.#dropClient(failure)
          if (failure.kind === 'commit-unknown') this.#unsure = item.seq
          if (failure.kind === 'retry' || failure.kind === 'commit-unknown') {
            health.retrying(failure)
            await this.#backoff.sleep(Backoff.delay(attempt++))
            continue
          }
          this.#items.shift()
          this.#statements -= item.statements.length
          this.#bytes -= item.bytes
          item.done?.reject(failure)
          health.diverged(failure, item.statements.length)
          this.#stop(undefined, '', 0)
          return
        }
        attempt = 0
        this.#items.shift()
        this.#statements -= item.statements.length
        this.#bytes -= item.bytes
        health.applied += item.statements.length
        item.done?.resolve()
      }
      if (this.#items.length === 0) health.caughtUp()
    } finally {
      this.#running = false
    }
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
  }
}
