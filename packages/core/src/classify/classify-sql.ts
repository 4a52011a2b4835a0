import type { Classification } from '../model/intent.js'
import { cachedClassifier, PLAIN_READ } from './classification-cache.js'
import { isWriteFunction } from './write-functions.js'

const DML: Readonly<Record<string, string>> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
}

const LOCK_STRENGTH: Readonly<Record<string, string>> = {
  LCS_FORKEYSHARE: 'FOR KEY SHARE',
  LCS_FORSHARE: 'FOR SHARE',
  LCS_FORNOKEYUPDATE: 'FOR NO KEY UPDATE',
  LCS_FORUPDATE: 'FOR UPDATE',
}

/**
 * Classifies a complete SQL text (one or more statements) with the real PostgreSQL
 * parser. Only a single plain read is `read`; anything the parser rejects is
 * `unknown`, and everything else is `write`. Results are cached by text, so a
 * repeated statement costs a Map lookup. Never throws.
 *
 * Requires {@link loadSqlParser}; until it has finished every text is `unknown`.
 *
 * @example
 * classifySql('select * from users where id = $1')
 * // { intent: 'read', reason: 'plain read' }
 * classifySql('with x as (delete from t returning *) select * from x')
 * // { intent: 'write', reason: 'DELETE in a CTE' }
 * classifySql('select nextval($1)')
 * // { intent: 'write', reason: 'function nextval()' }
 * classifySql('select 1; select 2')
 * // { intent: 'write', reason: '2 statements' }
 */
export const classifySql: (sql: string) => Classification = cachedClassifier((sql, parser) =>
  classifyUncached(sql, parser.parseSync),
)

function classifyUncached(sql: string, parseSync: (sql: string) => unknown): Classification {
  // The server stops reading a query at NUL and the WASM parser would too, silently
  // ignoring whatever follows; neither view can be trusted.
  if (sql.includes('\0')) return unknown('NUL character in SQL')
  if (sql === '') return unknown('no statement')
  let tree: unknown
  try {
    tree = parseSync(sql)
  } catch (error) {
    return unknown(`parse error: ${error instanceof Error ? error.message : String(error)}`)
  }
  try {
    const stmts = field(tree, 'stmts')
    if (!Array.isArray(stmts) || stmts.length === 0) return unknown('no statement')
    if (stmts.length > 1) return write(`${stmts.length} statements`)
    return classifyStatement(field(stmts[0], 'stmt'))
  } catch (error) {
    // A parse tree shaped unlike any seen so far; the walk itself does not throw.
    return unknown(`unexpected parse tree: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function classifyStatement(stmt: unknown): Classification {
  const [kind, body] = onlyEntry(stmt)
  const verb = DML[kind]
  if (verb !== undefined) return write(verb)
  switch (kind) {
    case 'SelectStmt':
      return readUnlessWrite(findWrite(stmt))
    case 'VariableShowStmt':
      return PLAIN_READ
    case 'ExplainStmt':
      return classifyExplain(body)
    default:
      return write(`statement ${kind}`)
  }
}

/**
 * EXPLAIN only plans its statement, so even `EXPLAIN INSERT` runs on a standby: the
 * read-only check is skipped for explain-only execution. With ANALYZE the statement
 * really runs, so it must be a plain read itself.
 */
function classifyExplain(explain: unknown): Classification {
  const query = field(explain, 'query')
  const [kind] = onlyEntry(query)
  if (hasAnalyze(field(explain, 'options'))) {
    const inner = classifyStatement(query)
    return inner.intent === 'read' ? PLAIN_READ : write(`EXPLAIN ANALYZE ${inner.reason}`)
  }
  // EXPLAIN EXECUTE needs the session's prepared statement; CREATE TABLE AS and
  // DECLARE CURSOR are not reads even as plans. Only plain query kinds go to a replica.
  if (kind === 'SelectStmt' || DML[kind] !== undefined) return PLAIN_READ
  return write(`EXPLAIN of statement ${kind}`)
}

/** ANALYZE is on unless its argument is explicitly false, off or 0. */
function hasAnalyze(options: unknown): boolean {
  if (!Array.isArray(options)) return false
  return options.some((option) => {
    const elem = field(option, 'DefElem')
    if (field(elem, 'defname') !== 'analyze') return false
    const arg = field(elem, 'arg')
    if (arg === undefined) return true
    const text = field(field(arg, 'String'), 'sval')
    if (typeof text === 'string') return !['false', 'off', '0'].includes(text.toLowerCase())
    const integer = field(arg, 'Integer')
    if (integer !== undefined) return (field(integer, 'ival') ?? 0) !== 0
    return true
  })
}

/**
 * Walks the whole parse tree generically, every object and array, so that a write
 * cannot hide under a node type this file has never heard of. Iterative, so a deep
 * tree cannot overflow the stack. Returns why the first write found is one.
 */
function findWrite(root: unknown): string | undefined {
  const stack: Array<readonly [node: unknown, inCte: boolean]> = [[root, false]]
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const [node, inCte] = frame
    if (node === null || typeof node !== 'object') continue
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], inCte])
      continue
    }
    const entries = Object.entries(node)
    for (const [key, value] of entries) {
      const reason = writeMarker(key, value, inCte)
      if (reason !== undefined) return reason
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i]!
      stack.push([value, inCte || key === 'CommonTableExpr'])
    }
  }
  return undefined
}

function writeMarker(key: string, value: unknown, inCte: boolean): string | undefined {
  const verb = DML[key]
  if (verb !== undefined) return inCte ? `${verb} in a CTE` : `nested ${verb}`
  if (key === 'LockingClause') return LOCK_STRENGTH[String(field(value, 'strength'))] ?? 'locking clause'
  if (key === 'intoClause') return 'SELECT INTO'
  if (key === 'FuncCall') {
    const name = functionName(field(value, 'funcname'))
    if (name === undefined) return 'function with an unreadable name'
    return isWriteFunction(name) ? `function ${name}()` : undefined
  }
  // Only SELECT can nest inside a read; any other statement found inside one is news.
  if (key.endsWith('Stmt') && key !== 'SelectStmt') return `nested statement ${key}`
  return undefined
}

/** `[{String: {sval: 'pg_catalog'}}, {String: {sval: 'nextval'}}]` → `'pg_catalog.nextval'`. */
function functionName(funcname: unknown): string | undefined {
  if (!Array.isArray(funcname) || funcname.length === 0) return undefined
  const parts = funcname.map((part) => field(field(part, 'String'), 'sval'))
  return parts.every((part) => typeof part === 'string') ? parts.join('.') : undefined
}

function field(node: unknown, key: string): unknown {
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
}

/** A parse-tree node is an object with exactly one key: its type. */
function onlyEntry(node: unknown): readonly [string, unknown] {
  const entries = node !== null && typeof node === 'object' ? Object.entries(node) : []
  const entry = entries[0]
  if (entries.length !== 1 || entry === undefined) throw new Error('statement node without a single type')
  return entry
}

function readUnlessWrite(reason: string | undefined): Classification {
  return reason === undefined ? PLAIN_READ : write(reason)
}

function write(reason: string): Classification {
  return Object.freeze({ intent: 'write', reason })
}

function unknown(reason: string): Classification {
  return Object.freeze({ intent: 'unknown', reason })
}
