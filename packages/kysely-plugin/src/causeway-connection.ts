import type { CursorConstructor, RoutedConnection } from '@causeway/core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import { classifyCompiledQuery } from './classify-compiled-query.js'
import { isTaggedForPrimary } from './on-primary-plugin.js'

/** Kysely 0.29's per-query options; 0.28 passes none. */
interface AbortOptions {
  readonly signal?: AbortSignal
}

/**
 * A Kysely connection over a core {@link RoutedConnection}: each statement is
 * classified and sent where it belongs. Results are shaped exactly as
 * `PostgresDialect` shapes them.
 */
export class CausewayConnection implements DatabaseConnection {
  readonly routed: RoutedConnection
  readonly #cursor: CursorConstructor | undefined

  constructor(routed: RoutedConnection, cursor: CursorConstructor | undefined) {
    this.routed = routed
    this.#cursor = cursor
  }

  async executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortOptions): Promise<QueryResult<R>> {
    // An aborted signal stops the statement before it is sent.
    options?.signal?.throwIfAborted()
    const running = this.routed.execute({
      sql: compiledQuery.sql,
      parameters: compiledQuery.parameters,
      intent: classifyCompiledQuery(compiledQuery).intent,
      forcePrimary: isTaggedForPrimary(compiledQuery.queryId),
    })
    // Kysely 0.29 may pass an AbortSignal. Without one (every 0.28 query), no extra
    // promise: each costs a hop on every statement.
    const { command, rowCount, rows } = await (options?.signal
      ? this.#abortable(running, options.signal)
      : running)
    const changed =
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
    return {
      numAffectedRows: changed ? BigInt(rowCount ?? 0) : undefined,
      rows: (rows ?? []) as R[],
    }
  }

  /** An abort cancels the statement on the server it runs on. */
  #abortable<T>(running: Promise<T>, signal: AbortSignal): Promise<T> {
    const onAbort = () => void this.routed.cancel().catch(() => {})
    signal.addEventListener('abort', onAbort, { once: true })
    return running.finally(() => signal.removeEventListener('abort', onAbort))
  }

  /** Kysely 0.29: cancels the running statement on the node this connection is bound to. */
  async cancelQuery(): Promise<void> {
    await this.routed.cancel()
  }

  /** Kysely 0.29: ends this connection's server session. */
  async killSession(): Promise<void> {
    await this.routed.terminate()
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize = 100,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (!this.#cursor) {
      throw new Error(
        "'cursor' is missing from the CausewayDialect config; streaming needs it (import Cursor from 'pg-cursor')",
      )
    }
    if (!Number.isInteger(chunkSize) || chunkSize <= 0)
      throw new Error('chunkSize must be a positive integer')
    const statement = {
      sql: compiledQuery.sql,
      parameters: compiledQuery.parameters,
      intent: classifyCompiledQuery(compiledQuery).intent,
      forcePrimary: isTaggedForPrimary(compiledQuery.queryId),
    }
    for await (const rows of this.routed.stream(statement, chunkSize, this.#cursor))
      yield { rows: rows as R[] }
  }
}
