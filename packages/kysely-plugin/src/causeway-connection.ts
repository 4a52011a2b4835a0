import type { CursorConstructor, RoutedConnection } from '@causeway/core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import { classifyCompiledQuery } from './classify/classify-compiled-query.js'
import { isTaggedForPrimary } from './on-primary-plugin.js'
import { type TransactionControl, transactionControlOf } from './transaction-control.js'

/** How the driver gives a connection back: not part of the connection's public face. */
export const RELEASE = Symbol('release')

/**
 * A Kysely connection over a core {@link RoutedConnection}: each statement is
 * classified and sent where it belongs. Results are shaped exactly as
 * `PostgresDialect` shapes them. Made and released only by {@link CausewayDriver}.
 */
export class CausewayConnection implements DatabaseConnection {
  readonly #routed: RoutedConnection
  readonly #cursor: CursorConstructor | undefined

  constructor(routed: RoutedConnection, cursor: CursorConstructor | undefined) {
    this.#routed = routed
    this.#cursor = cursor
  }

  /** Gives the routed connection back to the cluster (its pooled client to its pool). */
  [RELEASE](): void {
    this.#routed.release()
  }

  // Kysely 0.29 also passes `{ signal }`, and it is deliberately not looked at, as
  // PostgresConnection does not: Kysely itself stops waiting on an abort, and asks
  // for `cancelQuery` or `killSession` only when the query's
  // `inflightQueryAbortStrategy` says so. Under its default ('ignore query') the
  // statement runs to its end, and an aborted UPDATE still commits.
  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const control = transactionControlOf(compiledQuery)
    if (control) return this.#control(control) as Promise<QueryResult<R>>
    const { command, rowCount, rows } = await this.#routed.execute({
      sql: compiledQuery.sql,
      parameters: compiledQuery.parameters,
      intent: classifyCompiledQuery(compiledQuery).intent,
      forcePrimary: isTaggedForPrimary(compiledQuery.queryId),
      queryId: compiledQuery.queryId,
    })
    const changed =
      command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
    return {
      numAffectedRows: changed ? BigInt(rowCount ?? 0) : undefined,
      rows: (rows ?? []) as R[],
    }
  }

  /**
   * The driver's `BEGIN`, `COMMIT` and `ROLLBACK`, run by the router, which decides
   * the transaction's node and captures its token after COMMIT. COMMIT and ROLLBACK
   * answer as `PostgresConnection` does, `{ rows: [{ command }] }`: a COMMIT that
   * PostgreSQL completed as `ROLLBACK` (an earlier error aborted the transaction)
   * shows it there.
   */
  async #control(control: TransactionControl): Promise<QueryResult<{ command: string }>> {
    switch (control.command) {
      case 'begin':
        await this.#routed.begin(control.options)
        return { rows: [] }
      case 'commit':
        return { rows: [{ command: await this.#routed.commit() }] }
      case 'rollback':
        await this.#routed.rollback()
        return { rows: [{ command: 'ROLLBACK' }] }
    }
  }

  /** Kysely 0.29: cancels the running statement on the node this connection is bound to. */
  async cancelQuery(): Promise<void> {
    await this.#routed.cancel()
  }

  /** Kysely 0.29: ends this connection's server session. */
  async killSession(): Promise<void> {
    await this.#routed.terminate()
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
      queryId: compiledQuery.queryId,
    }
    for await (const rows of this.#routed.stream(statement, chunkSize, this.#cursor))
      yield { rows: rows as R[] }
  }
}
