import { type Classification, classifySql } from '@causeway/core'
import type { CompiledQuery } from 'kysely'
import { classifyQuery } from './classify/classify-query.js'

/**
 * The intent of a compiled Kysely query. A query built with the query builder is
 * judged by its operation-node tree; raw SQL (`sql\`…\`.execute(db)`,
 * `CompiledQuery.raw`, whose root is a `RawNode`) by PostgreSQL's own parser.
 */
export function classifyCompiledQuery(query: CompiledQuery): Classification {
  return query.query.kind === 'RawNode' ? classifySql(query.sql) : classifyQuery(query.query)
}
