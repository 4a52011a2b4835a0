import type pg from 'pg'
import { serialize } from 'pg-protocol'
import { type Lsn, parseLsn } from '../consistency/lsn.js'
import {
  maySpanStatements,
  type PipelineOutcome,
  type PipelineStep,
  pipelinedQueries,
  type RawResult,
  type RawStep,
  rawStep,
} from '../driver/pipelined-queries.js'
import { CausewayError } from '../errors/causeway-error.js'
import { functionRefusedError, refusedFunction } from '../errors/refused-function.js'

/**
 * The position that orders committed writes for the statement mirrors: the WAL
 * insert position, read in the write's own transaction after its statements ran
 * and before its COMMIT.
 *
 * Why it orders conflicting writes as they committed: a write B that waited for
 * A's row lock, or saw A's rows, ran after A committed, so B reads its position
 * after A's commit record was inserted, and A read its own before that record.
 * Writes that saw nothing of each other commute, and any order of them is fine.
 * Acknowledgement order does not do this: a backend releases its locks before it
 * sends its COMMIT's reply, so under load B can be acknowledged first.
 */
const POSITION_SQL = 'select pg_catalog.pg_current_wal_insert_lsn()'

/** What a positioned statement gives. */
export interface Positioned<T> {
  readonly result: T
  /**
   * The commit-ordering position; read after the commit when the statement
   * cannot run in a transaction block (VACUUM, CREATE INDEX CONCURRENTLY), and
   * `undefined` when the server refused the position function.
   */
  readonly position: Lsn | undefined
  /** It ran alone, outside any transaction: it cannot run in one (VACUUM, CREATE INDEX CONCURRENTLY). */
  readonly alone?: true
  /** The server refused the position function (the error): the write ran alone, without a position. */
  readonly refused?: Error
}

/**
 * An autocommit write's position read, as a named prepared statement: parsed once
 * per session, then only bound and executed (measured on a single-row insert here:
 * the read adds about 5 µs this way, 15 µs parsed each time). A session that
 * cannot keep it (a transaction-mode pooler in front: 26000 or 42P05) is given the
 * unnamed one.
 */
const NAMED = 'causeway_commit_position'
const PREPARE_AND_READ: RawStep = {
  raw: Buffer.concat([
    serialize.parse({ name: NAMED, text: POSITION_SQL }),
    serialize.bind({ statement: NAMED }),
    serialize.execute({}),
  ]),
}
const READ_PREPARED: RawStep = {
  raw: Buffer.concat([serialize.bind({ statement: NAMED }), serialize.execute({})]),
}
const READ_UNNAMED: RawStep = {
  raw: Buffer.concat([serialize.parse({ text: POSITION_SQL }), serialize.bind({}), serialize.execute({})]),
}

const SAVEPOINT_NAME = 'causeway_commit_position'
const SAVEPOINT = rawStep(`savepoint ${SAVEPOINT_NAME}`)
const RELEASE = rawStep(`release savepoint ${SAVEPOINT_NAME}`)
const COMMIT: PipelineStep = { sql: 'commit', values: [] }
const BEGIN = rawStep('begin')

/** Per pg client: whether its session holds the named statement, or must not use one. */
const sessions = new WeakMap<pg.ClientBase, 'prepared' | 'unnamed'>()

function readStep(client: pg.ClientBase): RawStep {
  const state = sessions.get(client)
  return state === 'prepared' ? READ_PREPARED : state === 'unnamed' ? READ_UNNAMED : PREPARE_AND_READ
}

/** 25001: the statement cannot run in a transaction block; nothing of it ran. */
const NOT_IN_BLOCK = '25001'
/** The named statement is missing (26000) or already there (42P05): another session behind a pooler. */
const NAMED_LOST = new Set(['26000', '42P05'])

/**
 * Runs an autocommit write's `steps`, then the position read, in one flight (one
 * Sync: one implicit transaction). Learns whether the session keeps the named
 * statement; when the read failed because of it, the implicit transaction was
 * rolled back, and the flight is sent again with the unnamed read.
 */
async function withPosition(client: pg.ClientBase, steps: readonly PipelineStep[]): Promise<PipelineOutcome> {
  const read = readStep(client)
  const outcome = await pipelinedQueries(client, [...steps, read])
  const code = (outcome.failed?.error as { code?: string } | undefined)?.code
  if (
    outcome.failed?.step === steps.length &&
    read !== READ_UNNAMED &&
    code !== undefined &&
    NAMED_LOST.has(code)
  ) {
    sessions.set(client, 'unnamed')
    return pipelinedQueries(client, [...steps, READ_UNNAMED])
  }
  if (read === PREPARE_AND_READ && outcome.failed === undefined) sessions.set(client, 'prepared')
  return outcome
}

/**
 * Runs an autocommit write on `client` and reads its position before it commits,
 * in the same round trip: one extended-protocol flight (the write, the position
 * read, one Sync: one implicit transaction). A parameterless text with a `;` (it
 * may hold several statements) goes as one simple query instead
 * (`<sql>; select …`), which also is one implicit transaction.
 *
 * The write's result is exactly what `client.query(sql, values)` gives, and a
 * server error of the write is thrown as the same `DatabaseError`. A write that
 * cannot run in a transaction block, or a refused position read (which rolled the
 * write back), is run again alone: nothing of it committed the first time.
 */
export async function positionedWrite(
  client: pg.ClientBase,
  sql: string,
  values: readonly unknown[],
): Promise<Positioned<pg.QueryResult>> {
  if (maySpanStatements(sql, values)) {
    let results: pg.QueryResult[]
    try {
      results = (await client.query(`${sql}\n;${POSITION_SQL}::text as lsn`)) as unknown as pg.QueryResult[]
    } catch (error) {
      if (!isDatabaseError(error) || !positionOrBlockRefused(error)) throw error
      const ran = await alone(client, sql, values)
      return error.code === NOT_IN_BLOCK ? ran : { ...ran, refused: error }
    }
    const own = results.slice(0, -1)
    // Several statements give pg's array of results, one gives that result.
    return {
      result: (own.length === 1 ? own[0] : own) as pg.QueryResult,
      position: lsnOf(results[results.length - 1]!.rows[0]?.lsn),
    }
  }
  const { results, failed } = await withPosition(client, [{ sql, values }])
  if (!failed)
    return { result: results[0] as pg.QueryResult, position: lsnOf((results[1] as RawResult).fields[0]) }
  if (failed.step === 0 && (failed.error as { code?: string }).code !== NOT_IN_BLOCK) throw failed.error
  const ran = await alone(client, sql, values)
  return failed.step === 1 && refusedFunction(failed.error) ? { ...ran, refused: failed.error } : ran
}

/** What a COMMIT's flight carries besides the COMMIT. */
export interface CommitFlightOptions {
  /** A statement run first, in the transaction: a durable mirror's outbox row. */
  readonly before?: { readonly sql: string; readonly parameters: readonly unknown[] }
  /**
   * The commit-position read: `'none'`; `'read'`, just before the COMMIT; or
   * `'guarded'`, inside a savepoint (until the server is known to grant the
   * function), so that a refusal rolls back to the savepoint and the transaction
   * commits without a position (`refused` says why) instead of being lost.
   */
  readonly position: 'none' | 'read' | 'guarded'
}

/**
 * Commits the open transaction on `client` with what `options` adds, in one round
 * trip (the outbox row, the position read, the COMMIT, one Sync). Returns the
 * COMMIT's result, and the position when one was read. In a transaction an
 * earlier error aborted, the COMMIT alone answers, with ROLLBACK. An outbox row
 * the server refuses rolls the transaction back, and its error is thrown. When an
 * unguarded position read fails, the COMMIT never ran: the transaction is rolled
 * back, and the `CausewayError` says so.
 */
export async function flightCommit(
  client: pg.ClientBase,
  options: CommitFlightOptions,
): Promise<Positioned<pg.QueryResult>> {
  if (client.getTransactionStatus() !== 'T')
    return { result: await client.query('commit'), position: undefined }
  const steps: (PipelineStep | RawStep)[] = []
  if (options.before) steps.push({ sql: options.before.sql, values: options.before.parameters })
  const read = options.position === 'none' ? -1 : steps.length + (options.position === 'guarded' ? 1 : 0)
  if (options.position === 'guarded') steps.push(SAVEPOINT, READ_UNNAMED, RELEASE)
  else if (options.position === 'read') steps.push(READ_UNNAMED)
  steps.push(COMMIT)
  const { results, failed } = await pipelinedQueries(client, steps)
  if (!failed) {
    const text = read < 0 ? undefined : (results[read] as RawResult).fields[0]
    return { result: results[results.length - 1] as pg.QueryResult, position: lsnOf(text) }
  }
  const error = failed.error
  // The COMMIT itself failed (a deferred constraint), as it would alone.
  if (failed.step === steps.length - 1) throw error
  // An earlier error had aborted the block (pg rejects a statement before its
  // ReadyForQuery tells the client so): the COMMIT alone answers ROLLBACK.
  if ((error as { code?: unknown }).code === '25P02')
    return { result: await client.query('commit'), position: undefined }
  if (options.position === 'guarded' && failed.step === read) {
    // Back to before the read; the transaction commits without a position.
    const [, result] = (await client.query(
      `rollback to savepoint ${SAVEPOINT_NAME}; commit`,
    )) as unknown as pg.QueryResult[]
    return { result: result!, position: undefined, refused: error }
  }
  await client.query('rollback').catch(() => {})
  if (failed.step !== read) throw error // the outbox row, refused: nothing committed
  // The read failed outside a savepoint: the COMMIT never ran.
  const refused = refusedFunction(error)
  throw new CausewayError(
    refused ? 'FUNCTION_REFUSED' : 'TRANSACTION_STATE',
    'the transaction was rolled back, not committed: reading its commit position for the statement mirrors ' +
      `failed: ${refused ? functionRefusedError(error, 'the primary').message : error.message}`,
    { cause: error },
  )
}

/**
 * Opens a transaction and runs a write in it, in one round trip (BEGIN, the
 * write, one Sync): a durable mirror's autocommit write, whose outbox row then
 * goes with the COMMIT. The transaction is open afterwards, also when the write
 * failed (then aborted: roll it back). A parameterless text with a `;` (it may hold
 * several statements) goes as BEGIN, then the text, through the simple protocol.
 */
export async function beganWrite(
  client: pg.ClientBase,
  sql: string,
  values: readonly unknown[],
): Promise<Positioned<pg.QueryResult>> {
  if (maySpanStatements(sql, values)) {
    await client.query('begin')
    return { result: await client.query(sql), position: undefined }
  }
  const { results, failed } = await pipelinedQueries(client, [BEGIN, { sql, values }])
  if (failed) throw failed.error
  return { result: results[1] as pg.QueryResult, position: undefined }
}

/** The write alone, then the position: the best order a statement outside any block can have. */
async function alone(
  client: pg.ClientBase,
  sql: string,
  values: readonly unknown[],
): Promise<Positioned<pg.QueryResult>> {
  const result = await client.query(sql, values as unknown[])
  const position = await client.query(`${POSITION_SQL}::text as lsn`).then(
    (r) => lsnOf(r.rows[0]?.lsn),
    () => undefined,
  )
  return { result, position, alone: true }
}

function lsnOf(text: unknown): Lsn | undefined {
  return typeof text === 'string' ? parseLsn(text) : undefined
}

function isDatabaseError(error: unknown): error is Error & { code?: string } {
  return error instanceof Error && error.name === 'error'
}

/**
 * Whether a failed `<sql>; select position` did not commit the write because of
 * the position read or the block: 25001 (the write cannot run in one), or the
 * position function refused (42501, 42883).
 */
function positionOrBlockRefused(error: Error & { code?: string }): boolean {
  return error.code === NOT_IN_BLOCK || refusedFunction(error)?.name === 'pg_current_wal_insert_lsn'
}
