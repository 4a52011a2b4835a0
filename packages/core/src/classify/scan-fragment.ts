import type { ScanToken } from 'libpg-query'
import type { Classification } from '../model/intent.js'
import { cachedClassifier, PLAIN_READ } from './classification-cache.js'
import { isWriteFunction } from './write-functions.js'

/**
 * Keywords that never belong in a read. Besides DML and DDL this has the statement
 * starters (VACUUM, LISTEN, PREPARE, BEGIN, …) that cannot occur inside a SELECT, in
 * case a fragment is a whole statement. SET counts although `UPDATE … SET` has UPDATE
 * anyway: alone it changes the session.
 */
const WRITE_KEYWORDS = new Set([
  ...['insert', 'update', 'delete', 'merge', 'into', 'copy', 'call', 'do', 'lock', 'truncate'],
  ...['create', 'alter', 'drop', 'grant', 'revoke', 'set', 'reset', 'refresh', 'vacuum', 'analyze'],
  ...['analyse', 'reindex', 'checkpoint', 'discard', 'listen', 'unlisten', 'notify', 'prepare'],
  ...['execute', 'deallocate', 'declare', 'begin', 'commit', 'rollback', 'savepoint'],
])

/** What may follow FOR in a locking clause: UPDATE, SHARE, NO KEY UPDATE, KEY SHARE. */
const LOCK_AFTER_FOR: Readonly<Record<string, string>> = {
  update: 'FOR UPDATE',
  share: 'FOR SHARE',
  no: 'FOR NO KEY UPDATE',
  key: 'FOR KEY SHARE',
}

/**
 * Classifies a raw SQL *fragment* nested in a Kysely query tree, such as the text of
 * `sql\`now()\`` or `sql\`for update skip locked\``. A fragment is not a statement and
 * cannot be parsed, so it is run through PostgreSQL's own lexer instead: comments,
 * string constants, quoted identifiers and dollar quoting are understood, and only
 * keyword and identifier tokens are judged. It is `write` if it holds a write
 * keyword, a locking clause, a `;`, or a call to a function that must run on the
 * primary; `unknown` if it cannot be scanned (for instance an unterminated quote,
 * which happens when a parameter splits a string); otherwise `read`. Cached by text.
 *
 * Requires {@link loadSqlParser}; until it has finished every fragment is `unknown`.
 *
 * @example
 * scanSqlFragment('now()')                  // { intent: 'read', reason: 'plain read' }
 * scanSqlFragment('for update skip locked') // { intent: 'write', reason: 'FOR UPDATE' }
 * scanSqlFragment("pg_catalog.nextval('s')") // { intent: 'write', reason: 'function nextval()' }
 * scanSqlFragment("lower('nextval(')")      // { intent: 'read', reason: 'plain read' }
 * scanSqlFragment("'abc")                   // { intent: 'unknown', reason: 'fragment does not scan …' }
 */
export const scanSqlFragment: (text: string) => Classification = cachedClassifier((text, parser) =>
  scanUncached(text, parser.scanSync),
)

function scanUncached(text: string, scanSync: (text: string) => { tokens: ScanToken[] }): Classification {
  // The lexer would stop at NUL and never see what follows it.
  if (text.includes('\0')) return unknown('NUL character in SQL')
  // Kysely splits raw SQL at every parameter, so empty fragments are common (sql`${x}`
  // is ['', '']); the scanner refuses an empty input, so answer before asking it.
  if (text === '') return PLAIN_READ
  let tokens: ScanToken[]
  try {
    tokens = scanSync(text).tokens
  } catch {
    // libpg-query 18.1.5 loses the lexer's message (it JSON-parses the error text), but
    // the cause is nearly always an unterminated quote or comment: a parameter that
    // splits a string literal, as in sql`'abc${x}'`, leaves each fragment unterminated.
    return unknown('fragment does not scan (unterminated quote or comment?)')
  }
  // `nextval /* why */ ('s')` is still a call: comments must not separate tokens.
  const significant = tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
  return findWrite(significant) ?? PLAIN_READ
}

function findWrite(tokens: readonly ScanToken[]): Classification | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    const next = tokens[i + 1]
    if (token.text === ';') return write('more than one statement')
    const word = token.text.toLowerCase()
    if (token.keywordName !== 'NO_KEYWORD') {
      if (word === 'for') {
        // The next fragment may complete a trailing FOR into a locking clause.
        if (next === undefined) return unknown('FOR at the end of a fragment')
        const lock = LOCK_AFTER_FOR[next.text.toLowerCase()]
        if (lock !== undefined) return write(lock)
      }
      if (WRITE_KEYWORDS.has(word)) return write(`keyword ${word.toUpperCase()}`)
    }
    // U&"n\0065xtval" could name any function; decoding the escapes is not worth it.
    if (/^u&"/i.test(token.text)) return unknown('Unicode-escaped identifier')
    if (token.tokenName === 'IDENT' || token.keywordName !== 'NO_KEYWORD') {
      const name = unquote(token.text)
      // At the very end, the call's `(` may be in the next fragment.
      if ((next === undefined || next.text === '(') && isWriteFunction(name)) {
        return write(`function ${name}()`)
      }
    }
  }
  return undefined
}

/** `"my ""name"""` → `my "name"`; an unquoted identifier is returned as written. */
function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier
}

function write(reason: string): Classification {
  return Object.freeze({ intent: 'write', reason })
}

function unknown(reason: string): Classification {
  return Object.freeze({ intent: 'unknown', reason })
}
