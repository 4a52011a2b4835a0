import type { Classification } from '@causeway/core'
import { isWriteFunction, PLAIN_READ, scanSqlFragment } from '@causeway/core'
import type { OperationNode, RootOperationNode, SelectModifier } from 'kysely'
import { nodeKindCategory } from './node-kinds.js'

// Row locks need a writable node: a hot standby rejects every one of them. A
// Record over the union so that a modifier added by a new Kysely fails to compile;
// one unknown at run time is a write.
const LOCK_REASONS: ReadonlyMap<string, string | null> = new Map(
  Object.entries({
    ForUpdate: 'FOR UPDATE',
    ForNoKeyUpdate: 'FOR NO KEY UPDATE',
    ForShare: 'FOR SHARE',
    ForKeyShare: 'FOR KEY SHARE',
    NoWait: null,
    SkipLocked: null,
    Distinct: null,
  } satisfies Record<SelectModifier, string | null>),
)

// Stands in for each parameter between raw fragments, so that the scanner sees
// one statement-shaped text (`lower( $1 )`) rather than pieces glued together.
const PLACEHOLDER = ' $1 '

// A fragment with no letter cannot name a keyword or a function (`, `, `(`, `::`),
// so it is neutral without a scan. Non-ASCII counts
// as a letter because PostgreSQL identifiers may contain it.
const WORD_CHARACTER = /[A-Za-z_\u0080-\uffff]/

/**
 * Classifies a Kysely query by walking its whole operation-node tree, not only
 * its root: a select can hide a write in a CTE, a locking clause, a function
 * call or a raw fragment. The first write found wins; a node kind the table
 * does not know (a newer Kysely) is a write.
 *
 * Raw fragments are scanned with `scanSqlFragment`, which needs `loadSqlParser()`
 * to have resolved; until then, and whenever the scanner cannot judge a fragment,
 * the result is `unknown` (routed like a write) with the scanner's reason.
 * A root `RawNode` (`sql\`…\`.execute(db)`) belongs to the full-statement parser;
 * given one, this treats it as a fragment, which errs towards the primary.
 *
 * @example
 * classifyQuery(db.selectFrom('users').selectAll().where('id', '=', 1).toOperationNode())
 * // { intent: 'read', reason: 'plain read' }
 * classifyQuery(db.selectFrom('users').selectAll().forUpdate().toOperationNode())
 * // { intent: 'write', reason: 'FOR UPDATE' }   -- select * from "users" for update
 * classifyQuery(db.selectNoFrom((eb) => eb.fn('nextval', [sql.lit('s')]).as('id')).toOperationNode())
 * // { intent: 'write', reason: 'function nextval()' }
 */
export function classifyQuery(node: RootOperationNode): Classification {
  // An explicit stack rather than recursion: this runs on every query, and a
  // loop over one array is cheaper than a call per node.
  const stack: object[] = [node]
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (Array.isArray(item)) {
      const elements: readonly unknown[] = item
      for (const element of elements) if (typeof element === 'object' && element !== null) stack.push(element)
      continue
    }
    const kind: unknown = (item as { readonly kind?: unknown }).kind
    if (typeof kind !== 'string') {
      // Not a node: some future container of nodes. Look inside rather than skip it.
      pushChildren(item, stack)
      continue
    }
    const category = nodeKindCategory(kind)
    switch (category) {
      case undefined:
        return { intent: 'write', reason: `unknown node kind ${kind}` }
      case 'write':
        return { intent: 'write', reason: kind }
      case 'value':
        continue
      case 'walk':
        break
      case 'lock': {
        const reason = lockReason(item)
        if (reason !== undefined) return { intent: 'write', reason }
        break
      }
      case 'function': {
        const func: unknown = (item as { readonly func?: unknown }).func
        if (typeof func !== 'string' || isWriteFunction(func)) {
          return { intent: 'write', reason: `function ${String(func)}()` }
        }
        break
      }
      case 'raw': {
        const scanned = scanRaw(item)
        if (scanned !== undefined) return scanned
        break
      }
      case 'cte': {
        const expression: unknown = (item as { readonly expression?: unknown }).expression
        const inner = isNode(expression) ? expression.kind : undefined
        if (inner !== undefined && nodeKindCategory(inner) === 'write') {
          return { intent: 'write', reason: `writing CTE (${inner})` }
        }
        break
      }
    }
    pushChildren(item, stack)
  }
  return PLAIN_READ
}

/** Pushes every object-valued property: nodes, arrays of nodes, anything new. */
function pushChildren(node: object, stack: object[]): void {
  for (const key in node) {
    const value: unknown = (node as Readonly<Record<string, unknown>>)[key]
    if (typeof value === 'object' && value !== null) stack.push(value)
  }
}

function isNode(value: unknown): value is OperationNode {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string'
}

function isStringArray(value: unknown): value is readonly string[] {
  if (!Array.isArray(value)) return false
  const elements: readonly unknown[] = value
  for (const element of elements) if (typeof element !== 'string') return false
  return true
}

function hasWord(fragments: readonly string[]): boolean {
  for (const fragment of fragments) if (WORD_CHARACTER.test(fragment)) return true
  return false
}

function lockReason(node: object): string | undefined {
  const modifier: unknown = (node as { readonly modifier?: unknown }).modifier
  // No modifier: a raw one (`modifyEnd(sql\`…\`)`), which the walk scans as a child.
  if (modifier === undefined) return undefined
  const reason = typeof modifier === 'string' ? LOCK_REASONS.get(modifier) : undefined
  if (reason === undefined) return `unknown select modifier ${String(modifier)}`
  return reason ?? undefined
}

function scanRaw(node: object): Classification | undefined {
  const { sqlFragments: fragments, parameters } = node as {
    readonly sqlFragments?: unknown
    readonly parameters?: unknown
  }
  if (!isStringArray(fragments) || !Array.isArray(parameters)) {
    return { intent: 'write', reason: 'raw fragment: malformed RawNode' }
  }
  // `sql.ref`, `sql.id` and `sql.table` compile to a bare (qualified) name, which
  // cannot call anything on its own; the fragment around it decides.
  if (isNameWrapper(fragments)) return undefined
  const params: readonly unknown[] = parameters
  // In `sql\`${sql.id('nextval')}('s')\`` the function's name is a parameter, not
  // text. Such a name is spelt into the text, quoted as Kysely compiles it; every
  // other parameter becomes a placeholder (and is walked as a child anyway).
  // A nested raw node is spelt inline too: `sql\`nextval${sql\`('s')\`}\`` splits
  // a call between the name here and its argument list there.
  let spelt = false
  for (const param of params) if (isWriteFunctionName(param) || isRawNode(param)) spelt = true
  if (!spelt && !hasWord(fragments)) return undefined
  const text = spelt ? spellNames(fragments, params) : fragments.join(PLACEHOLDER)
  const scanned = scanSqlFragment(text)
  return scanned.intent === 'read'
    ? undefined
    : { intent: scanned.intent, reason: `raw fragment: ${scanned.reason}` }
}

/** The shape of `sql.ref`, `sql.id` and `sql.table`: `['', '']` or `['', '.', …, '']`. */
function isNameWrapper(fragments: readonly string[]): boolean {
  const last = fragments.length - 1
  if (last < 1 || fragments[0] !== '' || fragments[last] !== '') return false
  for (let i = 1; i < last; i++) if (fragments[i] !== '.') return false
  return true
}

function spellNames(fragments: readonly string[], params: readonly unknown[]): string {
  let text = fragments[0] ?? ''
  for (let i = 1; i < fragments.length; i++) text += spell(params[i - 1]) + fragments[i]
  return text
}

/**
 * A parameter as the scanner should see it: a write function's name quoted, a
 * nested raw node inline (`sql.join` may put the name and its `(…)` in separate
 * children), anything else a placeholder.
 */
function spell(param: unknown): string {
  const name = identifierName(param)
  if (name !== undefined) return isWriteFunction(name) ? ` "${name.replaceAll('"', '""')}" ` : PLACEHOLDER
  if (isNode(param) && param.kind === 'RawNode') {
    const { sqlFragments, parameters } = param as OperationNode & Readonly<Record<string, unknown>>
    if (isStringArray(sqlFragments) && Array.isArray(parameters)) return spellNames(sqlFragments, parameters)
  }
  return PLACEHOLDER
}

function isRawNode(param: unknown): boolean {
  return isNode(param) && param.kind === 'RawNode'
}

function isWriteFunctionName(param: unknown): boolean {
  const name = identifierName(param)
  return name !== undefined && isWriteFunction(name)
}

/**
 * The last part of a name given as a node (`sql.id`, `sql.ref`, `sql.table`): the
 * part that names a function when the fragment after it opens with `(`.
 */
function identifierName(node: unknown): string | undefined {
  if (!isNode(node)) return undefined
  const fields = node as OperationNode & Readonly<Record<string, unknown>>
  switch (fields.kind) {
    case 'IdentifierNode':
      return typeof fields.name === 'string' ? fields.name : undefined
    case 'ColumnNode':
    case 'ReferenceNode':
      return identifierName(fields.column)
    case 'TableNode':
      return identifierName(fields.table)
    case 'SchemableIdentifierNode':
      return identifierName(fields.identifier)
    case 'RawNode': {
      const { sqlFragments, parameters } = fields
      if (!isStringArray(sqlFragments) || !isNameWrapper(sqlFragments) || !Array.isArray(parameters))
        return undefined
      const params: readonly unknown[] = parameters
      return identifierName(params[params.length - 1])
    }
    default:
      return undefined
  }
}
