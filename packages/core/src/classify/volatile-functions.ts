import { LruCache } from '../util/lru-cache.js'
import { loadedSqlParser } from './sql-parser.js'

/**
 * Functions whose result differs from one call to the next, or from one server to
 * another: replaying a statement that calls one gives a statement mirror another
 * value than the primary got. Sequences belong here too (`nextval` on a mirror
 * draws from the mirror's own sequence).
 */
const VOLATILE = new Set([
  'now',
  'random',
  'random_normal',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'timeofday',
  'nextval',
  'setval',
  'currval',
  'lastval',
  'pg_backend_pid',
  'inet_client_addr',
  'inet_server_addr',
  'inet_server_port',
  'txid_current',
  'pg_current_xact_id',
  'gen_random_bytes',
])

/**
 * SQL value functions written without parentheses, and `DEFAULT`, which asks for a
 * column's default (often `now()` or a sequence) by keyword.
 */
const VOLATILE_KEYWORDS = new Set([
  'current_timestamp',
  'current_time',
  'current_date',
  'localtime',
  'localtimestamp',
  'default',
])

/** DDL replays as written: its `default now()` is a definition, not a value. */
const DEFINITIONS = new Set(['create', 'alter', 'drop', 'comment', 'grant', 'revoke', 'truncate'])

const cache = new LruCache<string, readonly string[]>(2_000)
const NONE: readonly string[] = Object.freeze([])

/**
 * The volatile functions (and `DEFAULT`s) a statement's text calls, by name, in
 * order of first appearance; empty when none, or when the text does not scan.
 * Scanned with PostgreSQL's own lexer, so a name inside a string or a comment does
 * not count. Cached by text. Before the SQL parser has loaded, every text is
 * reported as `['(unscanned)']`: unknown is not deterministic.
 *
 * DDL (`create`, `alter`…) is never volatile: it replays as written.
 *
 * A column default the statement does not name (an `INSERT` that leaves out a
 * `serial` or `default now()` column) is not in its text, and is not found here.
 *
 * @example
 * volatileCalls("insert into t (id, at) values (gen_random_uuid(), now())") // ['gen_random_uuid', 'now']
 * volatileCalls("insert into t (note) values ('now()')")                   // []
 * volatileCalls('update t set at = current_timestamp')                     // ['current_timestamp']
 */
export function volatileCalls(sql: string): readonly string[] {
  const cached = cache.get(sql)
  if (cached !== undefined) return cached
  const parser = loadedSqlParser()
  if (parser === undefined) return ['(unscanned)']
  let found: readonly string[] = NONE
  try {
    const tokens = parser
      .scanSync(sql)
      .tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
    const names: string[] = []
    const first = tokens[0]?.text.toLowerCase()
    if (first !== undefined && DEFINITIONS.has(first)) tokens.length = 0
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!
      if (token.tokenName !== 'IDENT' && token.keywordName === 'NO_KEYWORD') continue
      const word = unquote(token.text).toLowerCase()
      const dot = word.lastIndexOf('.')
      const bare = dot === -1 ? word : word.slice(dot + 1)
      const call = tokens[i + 1]?.text === '(' && VOLATILE.has(bare)
      const keyword = token.keywordName !== 'NO_KEYWORD' && VOLATILE_KEYWORDS.has(bare)
      if ((call || keyword) && !names.includes(bare)) names.push(bare)
    }
    if (names.length > 0) found = Object.freeze(names)
  } catch {
    found = Object.freeze(['(unscanned)'])
  }
  if (sql.length <= 10_000) cache.set(sql, found)
  return found
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier
}
