import { type Classification, ClassificationCache, classifySql } from '@causeway/core'
import type { CompiledQuery } from 'kysely'
import { classifyQuery } from './classify-query.js'

// Compiled SQL determines the tree it came from, as far as intent goes (raw
// fragments are in the text; parameter values are not, and do not matter). So a
// repeated query costs a map lookup instead of a walk of its tree.
const cache = new ClassificationCache()

/**
 * The intent of a compiled Kysely query. A query built with the query builder is
 * judged by its operation-node tree; raw SQL (`sql\`…\`.execute(db)`,
 * `CompiledQuery.raw`, whose root is a `RawNode`) by PostgreSQL's own parser.
 * Results are cached by SQL text.
 *
 * @example
 * classifyCompiledQuery(db.selectFrom('users').selectAll().compile())
 * // { intent: 'read', reason: 'plain read' }
 */
export function classifyCompiledQuery(query: CompiledQuery): Classification {
  if (query.query.kind === 'RawNode') return classifySql(query.sql)
  const cached = cache.get(query.sql)
  if (cached) return cached
  const classification = classifyQuery(query.query)
  // Not cached: "unknown" for want of the parser, which a later call may have.
  return classification.intent === 'unknown' ? classification : cache.set(query.sql, classification)
}
