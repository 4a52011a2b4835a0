/**
 * Read/write classification of Kysely queries, on their operation-node trees.
 *
 * @example
 * import { classifyQuery } from './classify/index.js'
 * classifyQuery(db.deleteFrom('users').where('id', '=', 1).toOperationNode())
 * // { intent: 'write', reason: 'DeleteQueryNode' }
 */
export { classifyCompiledQuery } from './classify-compiled-query.js'
export { classifyQuery } from './classify-query.js'
export { NODE_KINDS, type NodeKindCategory, nodeKindCategory } from './node-kinds.js'
