import type { StatementTraceContext } from '@causeway/core'
import type { Attributes } from '@opentelemetry/api'

/** The first keyword of each operation the conventions let an instrumentation name. */
const OPERATIONS = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'WITH',
  'VALUES',
  'TABLE',
  'SHOW',
  'EXPLAIN',
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'CREATE',
  'ALTER',
  'DROP',
  'TRUNCATE',
  'COPY',
  'CALL',
  'DO',
  'SET',
  'LOCK',
  'REFRESH',
])

/**
 * `db.operation.name`: the statement's first keyword, upper-cased, when it is a
 * known one; else undefined (the conventions prefer no name to a wrong one).
 */
export function operationName(sql: string): string | undefined {
  const match = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)/.exec(sql)
  const word = match?.[1]?.toUpperCase()
  return word !== undefined && OPERATIONS.has(word) ? word : undefined
}

/**
 * The attributes a statement's span and its duration share: all of low
 * cardinality (never the query text), so fit for a metric.
 */
export function statementAttributes(context: StatementTraceContext): Attributes {
  const attributes: Attributes = {
    'db.system.name': 'postgresql',
    'causeway.node.name': context.node,
    'causeway.node.role': context.role,
    'causeway.route.reason': context.reason,
  }
  const operation = operationName(context.statement)
  if (operation) attributes['db.operation.name'] = operation
  if (context.database !== undefined) attributes['db.namespace'] = context.database
  if (context.serverAddress !== undefined) attributes['server.address'] = context.serverAddress
  if (context.serverPort !== undefined) attributes['server.port'] = context.serverPort
  return attributes
}

/** What a failure adds: `error.type`, and the SQLSTATE as `db.response.status_code`. */
export function errorAttributes(code: string | undefined): Attributes {
  const type = code ?? '_OTHER'
  return /^[0-9A-Z]{5}$/.test(type)
    ? { 'error.type': type, 'db.response.status_code': type }
    : { 'error.type': type }
}
