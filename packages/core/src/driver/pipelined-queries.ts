import type pg from 'pg'
import { serialize } from 'pg-protocol'
import {
  holdClient,
  isErrorResponse,
  isFatal,
  MessageRecorder,
  type PgQuery,
  type PgQueryClass,
  queryClassOf,
} from './pg-flight.js'

/** One statement of a {@link pipelinedQueries} flight, parsed by pg's own `Query`: its result is pg's `Result`. */
export interface PipelineStep {
  readonly sql: string
  readonly values: readonly unknown[]
}

/**
 * A constant statement of a flight, serialized once ({@link rawStep}): Parse, Bind
 * and Execute without Describe, so the server sends no RowDescription. Its result
 * is a {@link RawResult}.
 */
export interface RawStep {
  readonly raw: Buffer
}

/** The text columns of a {@link RawStep}'s first row (empty when it returned none). */
export interface RawResult {
  readonly fields: readonly (string | null)[]
}

/**
 * A statement whose rows are not wanted (a mirror's replay): Bind and Execute
 * without Describe; its result is a {@link CountResult}. With `name`, a named
 * prepared statement: `parsed` says the session already has it, else it is
 * (re)made first (Close, then Parse: closing a missing statement is no error).
 */
export interface CountStep {
  readonly count: string
  readonly values: readonly unknown[]
  readonly name?: string
  readonly parsed?: boolean
}

/** A {@link CountStep}'s command tag: its command and row count (null for a command without one). */
export interface CountResult {
  readonly command: string
  readonly rowCount: number | null
}

/**
 * Whether a text may hold several statements, which only the simple protocol runs
 * (pg sends a parameterless query that way): no parameters and a `;` in it. A `;`
 * in a literal only costs the caller its pipelining.
 */
export function maySpanStatements(sql: string, values: readonly unknown[]): boolean {
  return values.length === 0 && sql.includes(';')
}

/** Serializes a constant statement without parameters once, for {@link pipelinedQueries}. */
export function rawStep(sql: string): RawStep {
  return { raw: Buffer.concat([serialize.parse({ text: sql }), serialize.bind({}), serialize.execute({})]) }
}

/** Any step of a flight. */
export type AnyStep = PipelineStep | RawStep | CountStep

/** The result of each kind of step. */
export type StepResult = pg.QueryResult | RawResult | CountResult

/** What a {@link pipelinedQueries} flight gives. */
export interface PipelineOutcome {
  /** The results of the steps that completed, in order: every step's, unless one failed. */
  readonly results: StepResult[]
  /** The step the server refused, and its error: every step after it was skipped. */
  readonly failed?: { readonly step: number; readonly error: Error }
}

const SYNC = serialize.sync()

/**
 * Runs `steps` in one flight on `client`: each step's messages, then a single
 * Sync. One buffer, one write, one round trip; the server runs the steps in
 * order, and outside a transaction block they form one implicit transaction,
 * committed at the Sync (or rolled back whole when a step fails). Inside a block
 * they run in it, and a failed step leaves the block aborted.
 *
 * A {@link PipelineStep} is parsed by pg's own `Query` of the client's own `pg`,
 * with its parameter conversion and type parsers. Every step uses the extended
 * protocol: a step must be one statement.
 *
 * A step the server refuses resolves the promise with `failed` (and the results
 * of the steps before it); the steps after it did not run. A lost connection, a
 * `query_timeout`, an error that ends the session or a value pg cannot convert
 * rejects it.
 *
 * @example
 * const { results, failed } = await pipelinedQueries(client, [
 *   { sql: 'update t set v = $1 where id = $2', values: [1, 7] },
 *   rawStep('select pg_current_wal_insert_lsn()'),
 * ])
 * const lsn = (results[1] as RawResult).fields[0]
 */
export function pipelinedQueries(client: pg.ClientBase, steps: readonly AnyStep[]): Promise<PipelineOutcome> {
  const flight = new PipelineFlight(client, steps)
  return new Promise((resolve, reject) => {
    flight.callback = (error, value) => (error ? reject(error) : resolve(value!))
    client.query(flight)
  })
}

/** How a flight hears the answers of one step. */
interface Answer {
  handleRowDescription(message: unknown): void
  handleDataRow(message: { fields: (string | null)[] }): void
  handleCommandComplete(message: { text: string }, connection: pg.Connection): void
  handleEmptyQuery(connection: pg.Connection): void
  handleCopyInResponse(connection: pg.Connection): void
  handleCopyData(message: unknown, connection: pg.Connection): void
}

/** A pg submittable: every step, answered as one query. */
class PipelineFlight implements pg.Submittable {
  /** Set by pg's `Client.query()` when the client is in binary mode. */
  binary = false
  /** pg's `Client.query()` wraps it to clear its `query_timeout` timer; called once. */
  callback: ((error: Error | null, value?: PipelineOutcome) => void) | undefined
  /** pg's `Client.query()` sets the client's type parsers on it; `submit` hands them to every pg `Query`. */
  readonly _result: { _types?: unknown } = {}

  readonly #client: pg.ClientBase
  readonly #Query: PgQueryClass
  readonly #steps: readonly AnyStep[]
  /** pg's Query of each step, or the answer of a raw or counted one; made at submit. */
  #answers: (PgQuery | RawAnswer | CountAnswer)[] = []
  /** The step whose answers come now. */
  #step = 0
  #failed: { step: number; error: Error } | undefined
  /** A FATAL or PANIC error: the server ends the session. */
  #fatal: Error | undefined
  #settled = false

  constructor(client: pg.ClientBase, steps: readonly AnyStep[]) {
    this.#Query = queryClassOf(client, 'pipelinedQueries')
    this.#client = client
    this.#steps = steps
  }

  submit(connection: pg.Connection): Error | undefined {
    const recorder = new MessageRecorder(undefined, false)
    const types = this._result._types
    for (const step of this.#steps) {
      if ('raw' in step) {
        recorder.chunks.push(step.raw)
        this.#answers.push(new RawAnswer())
        continue
      }
      let query: PgQuery
      if ('count' in step) {
        // Only serialized by pg's Query (its rows are never parsed): its prototype's
        // prepare() on a bare object, without the constructor's result and emitter.
        query = Object.assign(Object.create(this.#Query.prototype) as PgQuery, {
          text: step.count,
          values: step.values,
          name: step.name,
          portal: '',
        })
        // Made once per flight: pg's Query sends no Parse for a name the recorder saw.
        if (step.name && step.parsed) recorder.parsedStatements[step.name] = step.count
        else if (step.name && recorder.submittedNamedStatements[step.name] === undefined)
          recorder.close({ type: 'S', name: step.name })
        recorder.describes = false
      } else {
        query = new this.#Query(step.sql, [...step.values])
        const result = query._result as { _types?: unknown }
        if (types && !result._types) result._types = types
        // pg asks for binary results only where it uses the extended protocol (with values).
        query.binary = this.binary && step.values.length > 0
        recorder.describes = true
      }
      let bindError: Error | undefined
      query.callback = (error) => {
        bindError = error ?? undefined
      }
      query.prepare(recorder)
      // A value pg cannot convert: nothing was sent.
      if (bindError) return bindError
      this.#answers.push('count' in step ? new CountAnswer() : query)
    }
    recorder.chunks.push(SYNC)
    if (connection.stream.writable) connection.stream.write(Buffer.concat(recorder.chunks))
    return undefined
  }

  #current(): Answer | undefined {
    return this.#answers[this.#step] as Answer | undefined
  }

  handleRowDescription(message: unknown): void {
    this.#current()?.handleRowDescription(message)
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    this.#current()?.handleDataRow(message)
  }

  handleCommandComplete(message: { text: string }, connection: pg.Connection): void {
    this.#current()?.handleCommandComplete(message, connection)
    this.#step++
  }

  handleEmptyQuery(connection: pg.Connection): void {
    this.#current()?.handleEmptyQuery(connection)
    this.#step++
  }

  handleCopyInResponse(connection: pg.Connection): void {
    this.#current()?.handleCopyInResponse(connection)
  }

  handleCopyData(message: unknown, connection: pg.Connection): void {
    this.#current()?.handleCopyData(message, connection)
  }

  handlePortalSuspended(): void {}

  handleError(error: Error): void {
    if (!this.#settled && isErrorResponse(error)) {
      // The server skips to the Sync and answers ReadyForQuery: keep its answers coming here.
      if (isFatal(error)) this.#fatal = error
      else this.#failed ??= { step: this.#step, error }
      holdClient(this.#client, this)
      return
    }
    // Not an answer of the server: the connection is gone, or `query_timeout` fired.
    this.#settle(this.#fatal ?? error)
  }

  handleReadyForQuery(connection: pg.Connection): void {
    if (this.#fatal) {
      this.#settle(this.#fatal)
      return
    }
    const completed = this.#failed ? this.#failed.step : this.#answers.length
    const results: StepResult[] = []
    let parseError: Error | undefined
    for (const answer of this.#answers.slice(0, completed)) {
      if (answer instanceof RawAnswer || answer instanceof CountAnswer) {
        results.push(answer.result())
        continue
      }
      answer.callback = (error, result) => {
        if (error) parseError ??= error
        else results.push(result!)
      }
      answer.handleReadyForQuery(connection)
    }
    // A row pg could not parse: pg's own query would reject, after the server ran it.
    if (parseError) this.#settle(parseError)
    else this.#settle(null, this.#failed ? { results, failed: this.#failed } : { results })
  }

  #settle(error: Error | null, value?: PipelineOutcome): void {
    if (this.#settled) return
    this.#settled = true
    this.callback?.(error, value)
  }
}

/** The answers of a step whose rows are not parsed by pg. */
abstract class UnparsedAnswer {
  handleRowDescription(): void {}
  handleDataRow(_message: { fields: (string | null)[] }): void {}
  handleCommandComplete(_message: { text: string }): void {}
  handleEmptyQuery(): void {}
  handleCopyInResponse(connection: pg.Connection): void {
    ;(connection as unknown as { sendCopyFail(message: string): void }).sendCopyFail(
      'No source stream defined',
    )
  }
  handleCopyData(): void {}
}

/** A raw step's first row, as text. */
class RawAnswer extends UnparsedAnswer {
  #fields: (string | null)[] | undefined
  override handleDataRow(message: { fields: (string | null)[] }): void {
    this.#fields ??= message.fields
  }
  result(): RawResult {
    return { fields: this.#fields ?? [] }
  }
}

// pg's own reading of a command tag (pg/lib/result.js): COMMAND [OID] [ROWS].
const COMMAND_TAG = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

/** A counted step's command tag. */
class CountAnswer extends UnparsedAnswer {
  #command = ''
  #rowCount: number | null = null
  override handleCommandComplete(message: { text: string }): void {
    const match = COMMAND_TAG.exec(message.text)
    if (!match) return
    this.#command = match[1]!
    const rows = match[3] ?? match[2]
    if (rows !== undefined) this.#rowCount = Number.parseInt(rows, 10)
  }
  result(): CountResult {
    return { command: this.#command, rowCount: this.#rowCount }
  }
}
