import type pg from 'pg'
import type { Statement } from '../model/statement.js'
import type { DbNode } from '../topology/db-node.js'
import {
  errorCodeOf,
  type RouteReason,
  type StatementTraceContext,
  statementChannel,
} from './trace-channels.js'

/**
 * The context of one statement's trace. Built only when the channel has
 * subscribers. Host, port and database are read from the client that runs the
 * statement (where it really went); nothing else of its config is copied, so no
 * credential can reach a subscriber.
 */
export function statementContext(
  node: DbNode,
  client: pg.PoolClient,
  statement: Statement,
  reason: RouteReason,
): StatementTraceContext {
  const connection = client as unknown as { host?: string; port?: number; database?: string }
  return {
    node: node.name,
    role: node.role,
    intent: statement.intent,
    reason,
    statement: statement.sql,
    serverAddress: connection.host,
    serverPort: connection.port,
    database: connection.database,
  }
}

/**
 * Runs `run` as one traced statement (start, end, then asyncStart and asyncEnd,
 * with error before them when it fails): `finish` copies what the trace reports
 * from the result onto the context before `asyncStart`.
 */
export function traceStatement<T>(
  context: StatementTraceContext,
  run: () => Promise<T>,
  finish: (context: StatementTraceContext, value: T) => void,
): Promise<T> {
  return statementChannel.tracePromise(
    () =>
      run().then(
        (value) => {
          finish(context, value)
          return value
        },
        (error: unknown) => {
          context.errorCode = errorCodeOf(error)
          throw error
        },
      ),
    context,
  )
}

/** `finish` for a plain pg result. */
export function countRows(context: StatementTraceContext, result: pg.QueryResult): void {
  context.rowCount = result.rowCount
}
