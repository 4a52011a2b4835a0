import type pg from 'pg'
import { serialize } from 'pg-protocol'
import { type Lsn, parseLsn } from '../consistency/lsn.js'
import {
  holdClient,
  isErrorResponse,
  isFatal,
  MessageRecorder,
  type PgQuery,
  queryClassOf,
} from '../driver/pg-flight.js'
import { CausewayError } from '../errors/causeway-error.js'
import { functionRefusedError, refusedFunction } from '../errors/refused-function.js'

/**
 * How the flight is cut into implicit transactions.
 * - `'each'`: check, Sync, read, Sync. Two implicit transactions, so the read's
 *   snapshot is taken after the check under any isolation level.
 * - `'once'`: check, read, Sync. One implicit transaction; the read's snapshot
 *   follows the check only under READ COMMITTED, where every statement takes its
 *   own snapshot (at its Bind). Under REPEATABLE READ the transaction's one
 *   snapshot is taken by the check's Bind, before the check reads the position,
 *   so nothing is proven there.
 */
export type ReplayCheckSync = 'each' | 'once'

/** Options of {@link replayCheckedQuery}. */
export interface ReplayCheckedQueryOptions {
  /**
   * Default `'once'`: the server flushes at every Sync, so `'each'` answers in two
   * packets and wakes the client twice. Measured against a plain point read
   * (bench/src/micro, c16 and c1): `'once'` 1.18× and 1.28×, `'each'` 1.31× and 1.59×.
   * It never gives a false proof under another isolation level: the check reports
   * the isolation of the transaction the read runs in, and `replayLsn` is then
   * `undefined`. Choose `'each'` where sessions default to REPEATABLE READ or
   * SERIALIZABLE, to keep the proof there.
   */
  readonly sync?: ReplayCheckSync
}

/** What {@link replayCheckedQuery} gives. */
export interface ReplayCheckedResult<R extends pg.QueryResultRow = pg.QueryResultRow> {
  /**
   * A replay position that the read is proven to include: every transaction the
   * server had replayed up to here is visible to `result`. So a read is fresh for
   * a token exactly when `replayLsn >= token.lsn` (same system and timeline).
   *
   * `undefined` when nothing is proven: the server never was in recovery (a
   * primary; `pg_last_wal_replay_lsn()` is null there), or the isolation level
   * let the read's snapshot predate the check (see {@link ReplayCheckSync}).
   */
  readonly replayLsn: Lsn | undefined
  /**
   * The server's start time (`pg_postmaster_start_time()`, in epoch seconds): which server
   * the connection reached, and in which lifetime. Its replay position only moves
   * forward while this stays the same.
   */
  readonly server: string | undefined
  /** Exactly what `client.query(sql, values)` gives (a pg `Result`). */
  readonly result: pg.QueryResult<R>
}

/**
 * Runs one read on a standby together with `select pg_last_wal_replay_lsn()`,
 * in one flight on the same connection: one buffer, one write, no extra round trip.
 * The position comes from the server that runs the read, so the proof holds behind
 * a balancer (one URL, several servers) where a check on a side connection would not.
 *
 * The check runs first, and by default one Sync ends both:
 *
 * ```
 * Parse/Bind/Execute  select pg_catalog.pg_last_wal_replay_lsn(),
 *                            pg_catalog.current_setting('transaction_isolation'),
 *                            extract(epoch from pg_catalog.pg_postmaster_start_time())
 * Parse/Bind/Describe/Execute  <sql> with <values>
 * Sync
 * ```
 *
 * (`sync: 'each'` puts a Sync after the check as well.)
 *
 * Why the position is a lower bound of what the read sees: a standby advances its
 * replay position only after a record's redo returned, and the redo of a commit
 * marks the transaction committed (clog, known-assigned xids) first. A snapshot
 * taken after the position was read therefore sees every commit at or below it.
 * The read's snapshot is taken at its Bind, after the check's Execute returned,
 * when it is a snapshot of its own: always under READ COMMITTED (a new snapshot
 * per statement), and with `sync: 'each'` outside a transaction block (a new
 * implicit transaction). Under REPEATABLE READ or SERIALIZABLE in one transaction,
 * the snapshot was taken by the check's own Bind, before it read the position, and
 * nothing is proven: `replayLsn` is then `undefined`.
 *
 * The query goes through `client.query()`, so it waits in pg's queue like any
 * other query and obeys `query_timeout`. The read is parsed by pg's own `Query`
 * of the client's own `pg`: the same parameter conversion, type parsers, `fields`,
 * `command`, `rowCount` and `oid`. It always uses the extended protocol, so `sql`
 * must be one statement, as with `client.query(sql, [value])`.
 *
 * Errors: a PostgreSQL error of the read rejects with pg's own `DatabaseError`,
 * once the connection is ready again. A failed check (for instance a server that
 * does not know the function) rejects with a {@link CausewayError} `REPLAY_CHECK_FAILED`,
 * its `cause` the server's error; a refused function (42501, 42883, 0A000) is named
 * in its message, with what to configure. A lost connection or a `query_timeout` rejects
 * with pg's error at once.
 *
 * @example
 * const { replayLsn, result } = await replayCheckedQuery(client, 'select * from users where id = $1', [7])
 * if (replayLsn !== undefined && replayLsn >= token.lsn) return result // fresh: it sees the write
 */
export function replayCheckedQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  values: readonly unknown[] = [],
  options: ReplayCheckedQueryOptions = {},
): Promise<ReplayCheckedResult<R>> {
  const flight = new ReplayCheckedFlight(client, sql, values, options.sync ?? 'once')
  return new Promise((resolve, reject) => {
    flight.callback = (error, value) => (error ? reject(error) : resolve(value as ReplayCheckedResult<R>))
    client.query(flight)
  })
}

const CHECK_SQL =
  "select pg_catalog.pg_last_wal_replay_lsn(), pg_catalog.current_setting('transaction_isolation'), extract(epoch from pg_catalog.pg_postmaster_start_time())"

// Constant bytes, serialised once. No Describe: the shape is known, and the
// server then sends no RowDescription for it.
const CHECK = Buffer.concat([serialize.parse({ text: CHECK_SQL }), serialize.bind({}), serialize.execute({})])
const CHECK_AND_SYNC = Buffer.concat([CHECK, serialize.sync()])

/** A pg submittable: the check and the read, answered as one query. */
class ReplayCheckedFlight implements pg.Submittable {
  /** Set by pg's `Client.query()` when the client is in binary mode. */
  binary = false
  /** pg's `Client.query()` wraps it to clear its `query_timeout` timer; called once. */
  callback: ((error: Error | null, value?: ReplayCheckedResult) => void) | undefined

  readonly #client: pg.ClientBase
  readonly #read: PgQuery
  readonly #hasValues: boolean
  readonly #syncEach: boolean
  /** ReadyForQuery messages still to come; 0 before submit and after the last. */
  #syncsLeft = 0
  #inCheck = true
  #position: string | null = null
  #isolation: string | null = null
  #server: string | null = null
  #statusAfterCheck: ReturnType<pg.ClientBase['getTransactionStatus']> = null
  #checkError: Error | undefined
  #readError: Error | undefined
  /** A FATAL or PANIC error: the server ends the session, whatever part was running. */
  #fatal: Error | undefined
  #settled = false

  constructor(client: pg.ClientBase, sql: string, values: readonly unknown[], sync: ReplayCheckSync) {
    const Query = queryClassOf(client, 'replayCheckedQuery')
    this.#client = client
    this.#read = new Query(sql, [...values])
    this.#hasValues = values.length > 0
    this.#syncEach = sync === 'each'
  }

  /** pg's `Client.query()` gives it the client's type parsers here, as it does for pg-cursor. */
  get _result(): unknown {
    return this.#read._result
  }

  submit(connection: pg.Connection): Error | undefined {
    const recorder = new MessageRecorder(this.#syncEach ? CHECK_AND_SYNC : CHECK)
    // pg asks for binary results only where it uses the extended protocol (with values).
    this.#read.binary = this.binary && this.#hasValues
    let bindError: Error | undefined
    this.#read.callback = (error) => {
      bindError = error ?? undefined
    }
    this.#read.prepare(recorder)
    // A value pg cannot convert: nothing was sent; pg reports it through handleError.
    if (bindError) return bindError
    this.#read.callback = (error, result) => {
      if (error) this.#settle(error)
      else
        this.#settle(null, {
          replayLsn: this.#provenPosition(),
          server: this.#server ?? undefined,
          result: result!,
        })
    }
    this.#syncsLeft = this.#syncEach ? 2 : 1
    if (connection.stream.writable) connection.stream.write(Buffer.concat(recorder.chunks))
    return undefined
  }

  handleRowDescription(message: unknown): void {
    this.#read.handleRowDescription(message)
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    if (!this.#inCheck) {
      this.#read.handleDataRow(message)
      return
    }
    this.#position = message.fields[0] ?? null
    this.#isolation = message.fields[1] ?? null
    this.#server = message.fields[2] ?? null
  }

  handleCommandComplete(message: unknown, connection: pg.Connection): void {
    if (this.#inCheck) this.#inCheck = false
    else this.#read.handleCommandComplete(message, connection)
  }

  handleEmptyQuery(connection: pg.Connection): void {
    this.#read.handleEmptyQuery(connection)
  }

  handleCopyInResponse(connection: pg.Connection): void {
    this.#read.handleCopyInResponse(connection)
  }

  handleCopyData(message: unknown, connection: pg.Connection): void {
    this.#read.handleCopyData(message, connection)
  }

  handleError(error: Error): void {
    if (this.#syncsLeft > 0 && isErrorResponse(error)) {
      // The server skips to the next Sync and answers ReadyForQuery; with a Sync
      // each, the read still runs after a failed check. Keep the answers coming here
      // (and, after a FATAL one, pg's connection error, which settles the flight).
      if (isFatal(error)) {
        this.#fatal = error
      } else if (this.#inCheck) {
        this.#checkError = error
        this.#inCheck = false
      } else {
        this.#readError = error
      }
      this.#hold()
      return
    }
    // Not an answer of the server: the connection is gone, or `query_timeout`
    // fired (pg then still routes the flight's answers here, as for its own Query).
    this.#settle(this.#fatal ?? this.#failure() ?? error)
  }

  handleReadyForQuery(connection: pg.Connection): void {
    this.#syncsLeft--
    if (this.#syncsLeft > 0) {
      this.#statusAfterCheck = this.#client.getTransactionStatus()
      this.#hold()
      return
    }
    if (this.#checkError) this.#settle(this.#failure()!)
    else if (this.#readError) this.#read.handleError(this.#readError, connection)
    else this.#read.handleReadyForQuery(connection)
  }

  #hold(): void {
    holdClient(this.#client, this)
  }

  #failure(): Error | undefined {
    if (this.#checkError) {
      // Name the refused function and the fix, as the FUNCTION_REFUSED error does;
      // the code stays REPLAY_CHECK_FAILED, on which the read goes to the primary.
      const refused = refusedFunction(this.#checkError)
      const detail = refused
        ? functionRefusedError(this.#checkError, "the read's server").message
        : this.#checkError.message
      return new CausewayError(
        'REPLAY_CHECK_FAILED',
        `the replay position check failed on the read's connection: ${detail}`,
        { cause: this.#checkError },
      )
    }
    return this.#readError
  }

  #provenPosition(): Lsn | undefined {
    if (this.#position === null) return undefined
    // With a Sync each and no transaction block open after the check, the read ran
    // in a new implicit transaction; otherwise only READ COMMITTED gave it a snapshot of its own.
    const ownTransaction = this.#syncEach && this.#statusAfterCheck === 'I'
    if (!ownTransaction && this.#isolation !== 'read committed') return undefined
    return parseLsn(this.#position)
  }

  #settle(error: Error | null, value?: ReplayCheckedResult): void {
    if (this.#settled) return
    this.#settled = true
    this.callback?.(error, value)
  }
}
