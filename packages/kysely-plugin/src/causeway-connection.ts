import type { CursorConstructor, RoutedConnection } from '@causeway/core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import { classifyCompiledQuery } from './classify-compiled-query.js'
import { isTaggedForPrimary } from './on-primary-plugin.js'

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

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { command, rowCount, rows } = await this.routed.execute({
      sql: compiledQuery.sql,
      parameters: compiledQuery.parameters,
      intent: classifyCompiledQuery(compiledQuery).intent,
      forcePrimary: isTaggedForPrimary(compiledQuery.queryId),
    })
    const changed =
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
    return {
      numAffectedRows: changed ? BigInt(rowCount ?? 0) : undefined,
      rows: (rows ?? []) as R[],
    }
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
