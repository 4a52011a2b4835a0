import type pg from 'pg'
import { ApplyFailure, applyTransaction, Superseded } from './apply-transaction.js'
import { Backoff } from './backoff.js'
import type { MirrorHealth } from './mirror-health.js'
import type { MirroredStatement } from './mirrored-statement.js'
import { CREATE_PROGRESS, OUTBOX_SCHEMA, type OutboxStatement } from './outbox-sql.js'
import { decodeParameters } from './parameter-codec.js'

/** Runs one statement on the current primary. */
export type PrimaryQuery = (sql: string, parameters: unknown[]) => Promise<pg.QueryResult>

/**
 * Relays one durable mirror's outbox rows from the primary, in id order (which is
 * commit order), each batch applied on the mirror in one transaction together with
 * its progress row. The progress row is locked first (`for update`) and checked:
 * when another relay (another app process) got there first, the batch is fetched
 * again from where that one stopped. So a restart, or two relays, neither skip nor
 * repeat a row. Applied rows are then deleted from the outbox.
 */
export class OutboxRelay {
  readonly #name: string
  readonly #pool: pg.Pool
  readonly #primary: PrimaryQuery
  readonly #health: MirrorHealth
  readonly #settings: { pollMillis: number; batchSize: number }
  readonly #backoff = new Backoff()
  #client: pg.PoolClient | undefined
  /** The last outbox id applied on the mirror (as text: a bigint). Known once the progress row was read. */
  #lastId: string | undefined
  #pending = { statements: 0, bytes: 0, oldest: undefined as number | undefined }
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #closed = false

  constructor(
    name: string,
    pool: pg.Pool,
    primary: PrimaryQuery,
    health: MirrorHealth,
    settings: { pollMillis: number; batchSize: number },
  ) {
    this.#name = name
    this.#pool = pool
    this.#primary = primary
    this.#health = health
    this.#settings = settings
  }

  /** Outbox rows not yet applied, as of the last fetch. */
  get backlog(): { statements: number; bytes: number } {
    return { statements: this.#pending.statements, bytes: this.#pending.bytes }
  }

  get lagMillis(): number {
    const oldest = this.#pending.oldest
    return oldest === undefined ? 0 : Math.max(0, Date.now() - oldest)
  }

  /** Starts polling. */
  start(): void {
    this.wake()
  }

  /** Relays now: a mirrored transaction just committed. */
  wake(): void {
    if (this.#closed) return
    if (this.#running) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#running = this.#relay().finally(() => {
      this.#running = undefined
      this.#schedule(this.#again ? 0 : this.#settings.pollMillis)
      this.#again = false
    })
  }

  /** Stops the relay; rows not relayed stay in the outbox for the next start. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#backoff.cancel()
    this.#client?.release(true)
    this.#client = undefined
    await this.#running
  }

  #schedule(millis: number): void {
    if (this.#closed || this.#health.state === 'out-of-sync') return
    this.#timer = setTimeout(() => this.wake(), millis)
    this.#timer.unref()
  }

  /** Relays batches until the outbox is empty, retrying a lost connection with backoff. */
  async #relay(): Promise<void> {
    let attempt = 0
    while (!this.#closed && this.#health.state !== 'out-of-sync') {
      try {
        const more = await this.#batch()
        attempt = 0
        if (!more) {
          this.#health.caughtUp()
          return
        }
      } catch (error) {
        if (this.#closed) return
        const failure =
          error instanceof ApplyFailure ? error : new ApplyFailure('retry', undefined, { cause: error })
        if (failure.kind !== 'divergence') {
          this.#client?.release(failure)
          this.#client = undefined
        }
        if (failure.kind !== 'retry') {
          // The row stays in the outbox: after the cause is fixed on the mirror, a
          // restarted relay applies it, and what follows, in order.
          this.#health.diverged(failure, 0)
          return
        }
        this.#health.retrying(failure)
        await this.#backoff.sleep(Backoff.delay(attempt++))
      }
    }
  }

  /** One batch; whether more rows may wait. */
  async #batch(): Promise<boolean> {
    const client = await this.#connect()
    const { rows } = await this.#primary(
      // Ordered by the bigint column, not by the text alias (text order puts 10 before 9).
      `select o.id::text as id, o.statements, (extract(epoch from o.created_at) * 1000)::float8 as at,
         count(*) over () as pending, sum(length(o.statements)) over () as bytes
       from ${OUTBOX_SCHEMA}.outbox o where o.mirror = $1 and o.id > $2::bigint order by o.id limit $3`,
      [this.#name, this.#lastId, this.#settings.batchSize],
    ).catch((error: unknown) => {
      // 42P01: no write has created the outbox yet, so there is nothing to relay.
      if ((error as { code?: unknown }).code === '42P01') return { rows: [] }
      throw error
    })
    const first = rows[0] as { at: number; pending: string; bytes: string } | undefined
    if (first === undefined) {
      this.#pending = { statements: 0, bytes: 0, oldest: undefined }
      return false
    }
    // The count is of transactions (outbox rows); close enough for a backlog figure.
    this.#pending = { statements: Number(first.pending), bytes: Number(first.bytes), oldest: first.at }
    const statements: MirroredStatement[] = rows.flatMap((row) =>
      (JSON.parse(row.statements as string) as OutboxStatement[]).map((s) => ({
        sql: s.sql,
        parameters: decodeParameters(s.parameters),
        rows: s.rows,
      })),
    )
    const from = this.#lastId!
    const to = (rows[rows.length - 1] as { id: string }).id
    try {
      await applyTransaction(client, statements, {
        before: async (c) => {
          const { rows: progress } = await c.query(
            `select last_id::text as last_id from ${OUTBOX_SCHEMA}.progress where mirror = $1 for update`,
            [this.#name],
          )
          const applied = (progress[0] as { last_id: string } | undefined)?.last_id ?? '0'
          if (applied !== from) {
            this.#lastId = applied
            throw new Superseded()
          }
        },
        after: async (c) => {
          await c.query(`update ${OUTBOX_SCHEMA}.progress set last_id = $2::bigint where mirror = $1`, [
            this.#name,
            to,
          ])
        },
      })
    } catch (error) {
      if (error instanceof Superseded) return true
      throw error
    }
    this.#lastId = to
    this.#health.applied += statements.length
    // Applied rows are no longer needed; if this fails, the next batch skips them anyway.
    await this.#primary(`delete from ${OUTBOX_SCHEMA}.outbox where mirror = $1 and id <= $2::bigint`, [
      this.#name,
      to,
    ]).catch(() => {})
    return rows.length === this.#settings.batchSize
  }

  /** The mirror connection, with the progress table and row in place and read. */
  async #connect(): Promise<pg.PoolClient> {
    if (this.#client) return this.#client
    const client = await this.#pool.connect()
    try {
      await createOnce((sql) => client.query(sql), CREATE_PROGRESS)
      await client.query(
        `insert into ${OUTBOX_SCHEMA}.progress (mirror, last_id) values ($1, 0) on conflict (mirror) do nothing`,
        [this.#name],
      )
      const { rows } = await client.query(
        `select last_id::text as last_id from ${OUTBOX_SCHEMA}.progress where mirror = $1`,
        [this.#name],
      )
      this.#lastId = (rows[0] as { last_id: string }).last_id
    } catch (error) {
      client.release(error as Error)
      throw error
    }
    this.#client = client
    return client
  }
}

/**
 * Runs `create … if not exists` DDL. Two sessions creating the same object at once
 * can still collide (23505 on the catalog, 42P07, 42P06): the other one made it,
 * and a second run finds it.
 */
export async function createOnce(run: (sql: string) => Promise<unknown>, ddl: string): Promise<void> {
  try {
    await run(ddl)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code !== '23505' && code !== '42P07' && code !== '42P06') throw error
    // The texts are one implicit transaction: what followed the collision did not run.
    await run(ddl)
  }
}
