/**
 * Classification of raw SQL: whole statements by the real PostgreSQL parser,
 * fragments nested in a Kysely tree by its lexer.
 *
 * @example
 * import { classifySql, loadSqlParser } from '@causeway/core'
 * await loadSqlParser()
 * classifySql('select 1 for update') // { intent: 'write', reason: 'FOR UPDATE' }
 */

export { ClassificationCache, NOT_LOADED, PLAIN_READ } from './classification-cache.js'
export { classifySql } from './classify-sql.js'
export { scanSqlFragment } from './scan-fragment.js'
export { isSqlParserLoaded, loadSqlParser } from './sql-parser.js'
export { volatileCalls } from './volatile-functions.js'
export { isWriteFunction } from './write-functions.js'
