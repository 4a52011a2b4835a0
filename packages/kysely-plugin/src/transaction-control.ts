import type { TransactionOptions } from '@causeway/core'
import { CompiledQuery, type TransactionSettings } from 'kysely'

/** A `BEGIN`, `COMMIT` or `ROLLBACK` that the driver sends, and what it means for routing. */
export type TransactionControl =
  | { readonly command: 'begin'; readonly options: TransactionOptions }
  | { readonly command: 'commit' }
  | { readonly command: 'rollback' }

// The driver's own transaction-control queries, by identity. The driver sends them
// through `executeQuery`, as `PostgresDriver` does, so that Kysely's `log` and
// anything else that wraps `executeQuery` sees them; the connection then hands
// them to the router's begin/commit/rollback. A user's raw `begin` is not here.
const controls = new WeakMap<CompiledQuery, TransactionControl>()

/** What a query means for the transaction, when the driver made it; else undefined. */
export function transactionControlOf(query: CompiledQuery): TransactionControl | undefined {
  return controls.get(query)
}

/**
 * The query that starts a transaction, with the same text `PostgresDriver` sends:
 * `begin`, or `start transaction isolation level … read only|read write`.
 */
export function beginQuery(settings: TransactionSettings): CompiledQuery {
  let sql = 'begin'
  if (settings.isolationLevel || settings.accessMode) {
    sql = 'start transaction'
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`
    if (settings.accessMode) sql += ` ${settings.accessMode}`
  }
  const options: TransactionOptions = {
    sql,
    ...(settings.accessMode ? { accessMode: settings.accessMode } : {}),
    ...(settings.isolationLevel ? { isolationLevel: settings.isolationLevel } : {}),
  }
  return mark(CompiledQuery.raw(sql), { command: 'begin', options })
}

/** The query that commits a transaction. */
export function commitQuery(): CompiledQuery {
  return mark(CompiledQuery.raw('commit'), { command: 'commit' })
}

/** The query that rolls a transaction back. */
export function rollbackQuery(): CompiledQuery {
  return mark(CompiledQuery.raw('rollback'), { command: 'rollback' })
}

function mark(query: CompiledQuery, control: TransactionControl): CompiledQuery {
  controls.set(query, control)
  return query
}
