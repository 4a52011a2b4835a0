import type pg from 'pg'
import { serialize } from 'pg-protocol'

/**
 * What several statements sent in one flight on a pg client share: the messages
 * recorded from pg's own `Query.prepare()`, and the dispatch that keeps pg's
 * client on the flight until its last ReadyForQuery.
 */

/** The part of pg's own `Query` (pg/lib/query.js) that a flight drives. */
export interface PgQuery {
  binary: boolean | undefined
  callback: ((error: Error | null, result?: pg.QueryResult) => void) | undefined
  readonly _result: unknown
  prepare(connection: MessageRecorder): void
  handleRowDescription(message: unknown): void
  handleDataRow(message: unknown): void
  handleCommandComplete(message: unknown, connection: pg.Connection): void
  handleEmptyQuery(connection: pg.Connection): void
  handleError(error: Error, connection: pg.Connection): void
  handleReadyForQuery(connection: pg.Connection): void
  handleCopyInResponse(connection: pg.Connection): void
  handleCopyData(message: unknown, connection: pg.Connection): void
}

/** pg's `Query` constructor: `(text, values)`, or a config with a statement `name`. */
export type PgQueryClass = new (
  text: string | { text: string; values: unknown[]; name?: string },
  values?: unknown[],
) => PgQuery

/** pg's `Query` class of the client's own `pg`, so that results parse with its type parsers. */
export function queryClassOf(client: pg.ClientBase, what: string): PgQueryClass {
  const Query = (client.constructor as { Query?: PgQueryClass }).Query
  if (typeof Query !== 'function' || !('_activeQuery' in client)) {
    throw new TypeError(`${what} needs a client of pg's JavaScript driver (pg 8.23+)`)
  }
  return Query
}

/**
 * Stands in for pg's Connection while pg's `Query.prepare()` writes a statement:
 * it keeps the messages, to send them in one buffer with the others of the
 * flight. With `syncs: false` it drops the Sync pg ends each statement with: the
 * flight sends its own. `describes: false` drops the Describe too (the rows of
 * the statement are not wanted). `parsedStatements` is what pg's `Query` asks
 * about a named statement: present, it sends no Parse.
 */
export class MessageRecorder {
  readonly chunks: Buffer[]
  readonly parsedStatements: Record<string, string> = {}
  readonly submittedNamedStatements: Record<string, string> = {}
  #syncs: boolean
  describes = true
  constructor(first?: Buffer, syncs = true) {
    this.chunks = first ? [first] : []
    this.#syncs = syncs
  }
  parse(message: Parameters<typeof serialize.parse>[0]) {
    this.chunks.push(serialize.parse(message))
  }
  bind(message: Parameters<typeof serialize.bind>[0]) {
    this.chunks.push(serialize.bind(message))
  }
  describe(message: Parameters<typeof serialize.describe>[0]) {
    if (this.describes) this.chunks.push(serialize.describe(message))
  }
  execute(message: Parameters<typeof serialize.execute>[0]) {
    this.chunks.push(serialize.execute(message))
  }
  close(message: Parameters<typeof serialize.close>[0]) {
    this.chunks.push(serialize.close(message))
  }
  sync() {
    if (this.#syncs) this.chunks.push(serialize.sync())
  }
  flush() {
    this.chunks.push(serialize.flush())
  }
}

/** The state of pg's Client (8.x) that decides which query gets the next message. */
interface ClientDispatch {
  _activeQuery: unknown
  readyForQuery: boolean
}

/**
 * Keeps pg's client on `flight` until its last ReadyForQuery. pg lets go of the
 * active query at every ReadyForQuery and every ErrorResponse, and would then send
 * the next queued query while the rest of the flight's answers are still to come,
 * handing them to that query.
 */
export function holdClient(client: pg.ClientBase, flight: unknown): void {
  const dispatch = client as unknown as ClientDispatch
  dispatch._activeQuery = flight
  dispatch.readyForQuery = false
}

/** An error that ends the session (the server closes the connection after it). */
export function isFatal(error: Error): boolean {
  const severity = (error as { severity?: unknown }).severity
  return severity === 'FATAL' || severity === 'PANIC'
}

/** An ErrorResponse parsed by pg-protocol (a `DatabaseError` named `'error'`), as opposed to pg's own errors. */
export function isErrorResponse(error: Error): boolean {
  return error.name === 'error'
}
