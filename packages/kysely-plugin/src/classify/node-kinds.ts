import type { OperationNodeKind } from 'kysely'

/**
 * What the classifier does when it meets a node of some kind:
 *
 * - `write`: the node is a writing statement, DDL, or a clause that only exists
 *   inside one; the query goes to the primary.
 * - `walk`: neutral; look at its children.
 * - `value`: bound data (a parameter or an escaped literal), never SQL; its
 *   children are not walked, so a JSON parameter such as `{ kind: 'admin' }` is
 *   not mistaken for a node, and a 10 000-element `in` list costs nothing.
 * - `lock`: a `SelectModifierNode`; `FOR UPDATE` and friends take row locks,
 *   which a hot standby refuses.
 * - `function`: a `FunctionNode` or `AggregateFunctionNode`, whose name Kysely
 *   emits verbatim; checked against the functions that write or need the primary.
 * - `raw`: a `RawNode`; its SQL text is scanned for hidden writes.
 * - `cte`: a `CommonTableExpressionNode`; walked, but a writing statement directly
 *   inside it is reported as a writing CTE.
 */
export type NodeKindCategory = 'write' | 'walk' | 'value' | 'lock' | 'function' | 'raw' | 'cte'

/**
 * Node kinds that only some of the supported Kysely versions have (the peer range
 * is `^0.28.19 || ^0.29.0`): 0.29 added `ALTER TYPE`. Named here so that the table
 * below lists them whichever version the plugin is compiled against; a kind one
 * version removes goes here too.
 */
type VersionKinds = 'AlterTypeNode' | 'AddValueNode' | 'RenameValueNode'

/**
 * The category of every operation node kind of every supported Kysely. `satisfies`
 * makes this exhaustive in both directions, against whichever version it is
 * compiled with: a kind that version has and the table lacks is a missing key, and
 * a key that is neither one of its kinds nor a {@link VersionKinds} is an excess
 * key; either fails to compile. `pnpm typecheck` checks it against 0.28 and
 * `pnpm typecheck:kysely-029` against 0.29.
 *
 * Nodes that only ever occur inside a writing statement (`ReturningNode`,
 * `OnConflictNode`, `ColumnDefinitionNode`, …) are `write` too: in a real query
 * their statement decides first, and in a hand-built tree they err towards the
 * primary. `DataTypeNode` is the exception that looks like DDL but is not: it is
 * also the target type of `eb.cast()` in selects.
 *
 * @example
 * NODE_KINDS.InsertQueryNode // 'write'
 * NODE_KINDS.SelectQueryNode // 'walk'
 * NODE_KINDS.FunctionNode    // 'function'
 */
export const NODE_KINDS = {
  // Statements.
  SelectQueryNode: 'walk',
  InsertQueryNode: 'write',
  UpdateQueryNode: 'write',
  DeleteQueryNode: 'write',
  MergeQueryNode: 'write',
  RawNode: 'raw',

  // Clauses of a select (and of other statements).
  WithNode: 'walk',
  CommonTableExpressionNode: 'cte',
  CommonTableExpressionNameNode: 'walk',
  SelectionNode: 'walk',
  SelectAllNode: 'walk',
  SelectModifierNode: 'lock',
  FromNode: 'walk',
  JoinNode: 'walk',
  OnNode: 'walk',
  WhereNode: 'walk',
  GroupByNode: 'walk',
  GroupByItemNode: 'walk',
  HavingNode: 'walk',
  OrderByNode: 'walk',
  OrderByItemNode: 'walk',
  CollateNode: 'walk',
  LimitNode: 'walk',
  OffsetNode: 'walk',
  FetchNode: 'walk',
  TopNode: 'walk',
  SetOperationNode: 'walk',
  ExplainNode: 'walk',
  ValuesNode: 'walk',
  OverNode: 'walk',
  PartitionByNode: 'walk',
  PartitionByItemNode: 'walk',

  // Expressions.
  IdentifierNode: 'walk',
  SchemableIdentifierNode: 'walk',
  TableNode: 'walk',
  ColumnNode: 'walk',
  ReferenceNode: 'walk',
  AliasNode: 'walk',
  AndNode: 'walk',
  OrNode: 'walk',
  ParensNode: 'walk',
  OperatorNode: 'walk',
  BinaryOperationNode: 'walk',
  UnaryOperationNode: 'walk',
  CaseNode: 'walk',
  WhenNode: 'walk',
  CastNode: 'walk',
  DataTypeNode: 'walk',
  TupleNode: 'walk',
  ListNode: 'walk',
  ValueListNode: 'walk',
  JSONReferenceNode: 'walk',
  JSONPathNode: 'walk',
  JSONPathLegNode: 'walk',
  JSONOperatorChainNode: 'walk',
  FunctionNode: 'function',
  AggregateFunctionNode: 'function',
  ValueNode: 'value',
  PrimitiveValueListNode: 'value',

  // Clauses that only exist inside INSERT, UPDATE, DELETE or MERGE.
  ReturningNode: 'write',
  OutputNode: 'write',
  ColumnUpdateNode: 'write',
  DefaultInsertValueNode: 'write',
  OnConflictNode: 'write',
  OnDuplicateKeyNode: 'write',
  OrActionNode: 'write',
  UsingNode: 'write',
  MatchedNode: 'write',

  // DDL statements, and the parts of the schema builder's trees.
  CreateTableNode: 'write',
  AlterTableNode: 'write',
  DropTableNode: 'write',
  CreateIndexNode: 'write',
  DropIndexNode: 'write',
  CreateSchemaNode: 'write',
  DropSchemaNode: 'write',
  CreateViewNode: 'write',
  DropViewNode: 'write',
  RefreshMaterializedViewNode: 'write',
  CreateTypeNode: 'write',
  AlterTypeNode: 'write',
  AddValueNode: 'write',
  RenameValueNode: 'write',
  DropTypeNode: 'write',
  ColumnDefinitionNode: 'write',
  AddColumnNode: 'write',
  AlterColumnNode: 'write',
  ModifyColumnNode: 'write',
  DropColumnNode: 'write',
  RenameColumnNode: 'write',
  AddConstraintNode: 'write',
  DropConstraintNode: 'write',
  RenameConstraintNode: 'write',
  AddIndexNode: 'write',
  PrimaryKeyConstraintNode: 'write',
  UniqueConstraintNode: 'write',
  CheckConstraintNode: 'write',
  ForeignKeyConstraintNode: 'write',
  ReferencesNode: 'write',
  GeneratedNode: 'write',
  DefaultValueNode: 'write',
} as const satisfies Record<OperationNodeKind | VersionKinds, NodeKindCategory>

// A Map rather than the object itself: at run time `kind` is any string, and a
// hand-made node with kind 'constructor' must not find Object.prototype's.
const CATEGORY_BY_KIND: ReadonlyMap<string, NodeKindCategory> = new Map(Object.entries(NODE_KINDS))

/**
 * The category of a node kind, or `undefined` for a kind this version of the
 * table does not know (a newer Kysely, or a hand-made node), which callers
 * must treat as a write.
 *
 * @example
 * nodeKindCategory('DeleteQueryNode') // 'write'
 * nodeKindCategory('TeleportNode')    // undefined
 */
export function nodeKindCategory(kind: string): NodeKindCategory | undefined {
  return CATEGORY_BY_KIND.get(kind)
}
