import fc from 'fast-check'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { classifySql } from '../../src/classify/classify-sql.js'
import { isSqlParserLoaded, loadSqlParser } from '../../src/classify/sql-parser.js'
import type { Intent } from '../../src/model/intent.js'

/** [sql, expected intent, expected reason (checked when given)] */
type Case = readonly [sql: string, intent: Intent, reason?: string]

const READS: readonly Case[] = [
  ['select 1', 'read', 'plain read'],
  ['SELECT * FROM users WHERE id = $1', 'read'],
  ['select * from t -- insert into t values (1)', 'read'],
  ['/* delete from t */ select 1', 'read'],
  ['/* outer /* nested delete */ still a comment */ select 1', 'read'],
  ["select 'insert into t values (1)'", 'read'],
  ["select 'it''s; delete from t'", 'read'],
  ["select E'a\\'b; delete from t'", 'read'],
  ['select "delete" from "insert"', 'read'],
  ['select $$ delete from t $$', 'read'],
  ['select $tag$ insert into t; $$ nested $$ $tag$', 'read'],
  ['select 1 union all select 2', 'read'],
  ['select a from t intersect select a from u', 'read'],
  ['select a from t except select a from u', 'read'],
  ['values (1, 2), (3, 4)', 'read'],
  ['table t', 'read'],
  ['show search_path', 'read'],
  ['show all', 'read'],
  ['explain select * from t', 'read'],
  ['explain insert into t values (1)', 'read'],
  ['explain (costs off, verbose) update t set a = 1', 'read'],
  ['explain (analyze false) delete from t', 'read'],
  ['explain (analyze off) delete from t', 'read'],
  ['explain analyze select * from t', 'read'],
  ["select lower('nextval(')", 'read'],
  ['select "nextval" from t', 'read'],
  ['select count(*) from t where a in (select a from u)', 'read'],
  ['with x as (select 1) select * from x', 'read'],
  ['with recursive r(n) as (select 1 union all select n + 1 from r where n < 9) select * from r', 'read'],
  ['select now(), current_user, lower(name) from t', 'read'],
  ['select 1;', 'read'],
  ['select * from t fetch first 10 rows only', 'read'],
  ["select x from t where x ~ '\\d+'", 'read'],
  ['select * from t tablesample system (10)', 'read'],
]

const WRITES: readonly Case[] = [
  ['insert into t values (1)', 'write', 'INSERT'],
  ['update t set a = 1', 'write', 'UPDATE'],
  ['delete from t', 'write', 'DELETE'],
  ['merge into t using u on t.id = u.id when matched then delete', 'write', 'MERGE'],
  ['/* select */ delete from t -- select', 'write', 'DELETE'],
  ['select 1; delete from t', 'write', '2 statements'],
  ['delete from t; select 1', 'write', '2 statements'],
  ['select 1; select 2', 'write', '2 statements'],
  ['select $$x$$; insert into t values (1)', 'write', '2 statements'],
  ['explain analyze delete from t', 'write', 'EXPLAIN ANALYZE DELETE'],
  ['explain (analyze, buffers) update t set a = 1', 'write', 'EXPLAIN ANALYZE UPDATE'],
  ['explain (analyze 1) insert into t values (1)', 'write', 'EXPLAIN ANALYZE INSERT'],
  ['explain analyze select nextval($1)', 'write', 'EXPLAIN ANALYZE function nextval()'],
  ['explain execute p', 'write', 'EXPLAIN of statement ExecuteStmt'],
  ['explain create table x as select 1', 'write'],
  ['select * into new_t from t', 'write', 'SELECT INTO'],
  ['select * into temp x from t', 'write', 'SELECT INTO'],
  ['with a as (insert into t values (1) returning *) select * from a', 'write', 'INSERT in a CTE'],
  [
    'with a as (with b as (delete from t returning *) select * from b) select * from a',
    'write',
    'DELETE in a CTE',
  ],
  [
    'select * from (with u as (update t set a = 1 returning a) select * from u) s',
    'write',
    'UPDATE in a CTE',
  ],
  ['select * from t for update', 'write', 'FOR UPDATE'],
  ['select * from t for no key update', 'write', 'FOR NO KEY UPDATE'],
  ['select * from t for share', 'write', 'FOR SHARE'],
  ['select * from t for key share', 'write', 'FOR KEY SHARE'],
  ['select * from t for update skip locked', 'write', 'FOR UPDATE'],
  ['select * from t for share nowait', 'write', 'FOR SHARE'],
  ['select * from t limit 1 for update of t', 'write', 'FOR UPDATE'],
  ['select * from t where id in (select id from u for update)', 'write', 'FOR UPDATE'],
  ['select * from (select * from t for key share) s', 'write', 'FOR KEY SHARE'],
  ['select 1 union select 2 for update', 'write', 'FOR UPDATE'],
  ['select nextval($1)', 'write', 'function nextval()'],
  ["select setval('s', 1)", 'write', 'function setval()'],
  ["select currval('s')", 'write', 'function currval()'],
  ['select lastval()', 'write', 'function lastval()'],
  ['select pg_advisory_lock(1)', 'write', 'function pg_advisory_lock()'],
  ['select pg_try_advisory_xact_lock(1)', 'write', 'function pg_try_advisory_xact_lock()'],
  ["select set_config('a.b', 'c', false)", 'write', 'function set_config()'],
  ["select pg_notify('ch', 'x')", 'write', 'function pg_notify()'],
  ['select txid_current()', 'write', 'function txid_current()'],
  ['select pg_current_wal_lsn()', 'write', 'function pg_current_wal_lsn()'],
  ["select lo_import('/tmp/x')", 'write', 'function lo_import()'],
  ["select * from t where id = nextval('s')", 'write', 'function nextval()'],
  ["select pg_catalog.nextval('s')", 'write', 'function pg_catalog.nextval()'],
  ["select NEXTVAL('s')", 'write', 'function nextval()'],
  ['select u&"n\\0065xtval"(\'s\')', 'write', 'function nextval()'],
  ["select * from nextval('s')", 'write', 'function nextval()'],
  ["select coalesce(max(id), nextval('s')) from t", 'write', 'function nextval()'],
  ['select * from t where exists (select 1 from u where pg_advisory_xact_lock(u.id) is null)', 'write'],
  ['values (nextval($1))', 'write', 'function nextval()'],
  ['set x = 1', 'write', 'statement VariableSetStmt'],
  ['set local statement_timeout = 0', 'write', 'statement VariableSetStmt'],
  ['reset all', 'write', 'statement VariableSetStmt'],
  ['begin', 'write', 'statement TransactionStmt'],
  ['commit', 'write', 'statement TransactionStmt'],
  ['copy t to stdout', 'write', 'statement CopyStmt'],
  ['copy (select 1) to stdout', 'write', 'statement CopyStmt'],
  ['call p()', 'write', 'statement CallStmt'],
  ['do $$ begin perform 1; end $$', 'write', 'statement DoStmt'],
  ['listen ch', 'write', 'statement ListenStmt'],
  ["notify ch, 'x'", 'write', 'statement NotifyStmt'],
  ['lock table t', 'write', 'statement LockStmt'],
  ['vacuum t', 'write', 'statement VacuumStmt'],
  ['analyze t', 'write', 'statement VacuumStmt'],
  ['checkpoint', 'write', 'statement CheckPointStmt'],
  ['create table t2 as select * from t', 'write', 'statement CreateTableAsStmt'],
  ['refresh materialized view mv', 'write', 'statement RefreshMatViewStmt'],
  ['prepare p as select 1', 'write', 'statement PrepareStmt'],
  ['execute p', 'write', 'statement ExecuteStmt'],
  ['deallocate p', 'write', 'statement DeallocateStmt'],
  ['declare c cursor for select 1', 'write', 'statement DeclareCursorStmt'],
  ['fetch 10 from c', 'write', 'statement FetchStmt'],
  ['truncate t', 'write', 'statement TruncateStmt'],
  ['create table x (a int)', 'write', 'statement CreateStmt'],
  ['drop table x', 'write', 'statement DropStmt'],
]

const UNKNOWNS: readonly Case[] = [
  ['', 'unknown', 'no statement'],
  ['   \n\t', 'unknown', 'no statement'],
  ['-- only a comment', 'unknown', 'no statement'],
  [';', 'unknown', 'no statement'],
  ['selec 1', 'unknown', 'parse error: syntax error at or near "selec"'],
  ['select (1', 'unknown'],
  ["select 'unterminated", 'unknown'],
  ['select $$ unterminated', 'unknown'],
  ['select 1 /* unterminated', 'unknown'],
  ['select 1 \\; select 2', 'unknown'],
  ['select 1\0; delete from t', 'unknown', 'NUL character in SQL'],
]

const CATALOGUE = [...READS, ...WRITES, ...UNKNOWNS]

beforeAll(async () => {
  await loadSqlParser()
})

describe('classifySql catalogue', () => {
  it('has at least 60 statements', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(60)
  })

  const cases = CATALOGUE.map(([sql, intent, reason]) => ({ sql, intent, reason }))
  it.each(cases)('$sql is $intent', ({ sql, intent, reason }) => {
    const result = classifySql(sql)
    expect(result.intent).toBe(intent)
    if (reason !== undefined) expect(result.reason).toBe(reason)
  })
})

describe('classifySql', () => {
  it('answers a repeated statement from the cache, with the very same frozen object', () => {
    const sql = 'select * from cached_table where id = $1'
    const first = classifySql(sql)
    expect(classifySql(sql)).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
  })

  it('classifies a very long text without caching it, so the cache cannot pin megabytes', () => {
    const long = `select nextval('s') ${'/* padding */ '.repeat(1_000)}`
    const first = classifySql(long)
    expect(first).toEqual({ intent: 'write', reason: 'function nextval()' })
    expect(classifySql(long)).not.toBe(first)
  })

  it('is unknown until the parser is loaded, and does not cache that answer', async () => {
    vi.resetModules()
    const fresh = await import('../../src/classify/classify-sql.js')
    const parser = await import('../../src/classify/sql-parser.js')
    expect(parser.isSqlParserLoaded()).toBe(false)
    expect(fresh.classifySql('select 1')).toEqual({ intent: 'unknown', reason: 'sql parser not loaded' })
    await parser.loadSqlParser()
    expect(fresh.classifySql('select 1')).toEqual({ intent: 'read', reason: 'plain read' })
  })
})

describe('loadSqlParser', () => {
  it('is idempotent', async () => {
    await Promise.all([loadSqlParser(), loadSqlParser()])
    await loadSqlParser()
    expect(isSqlParserLoaded()).toBe(true)
  })

  it('rejects with a clear error when loading fails, and retries on the next call', async () => {
    vi.resetModules()
    let failures = 1
    vi.doMock('libpg-query', async (importOriginal) => {
      const real = await importOriginal<typeof import('libpg-query')>()
      return {
        ...real,
        loadModule: async () => {
          if (failures-- > 0) throw new Error('wasm exploded')
          await real.loadModule()
        },
      }
    })
    try {
      const parser = await import('../../src/classify/sql-parser.js')
      await expect(parser.loadSqlParser()).rejects.toThrow(
        /Could not load the PostgreSQL SQL parser.*wasm exploded/,
      )
      expect(parser.isSqlParserLoaded()).toBe(false)
      await parser.loadSqlParser()
      expect(parser.isSqlParserLoaded()).toBe(true)
    } finally {
      vi.doUnmock('libpg-query')
    }
  })
})

describe('classifySql properties', () => {
  const reads = fc.constantFrom(...READS.map(([sql]) => sql))
  const writes = fc.constantFrom(...WRITES.map(([sql]) => sql))
  const commentText = fc
    .array(fc.constantFrom('insert', 'delete', 'select', ';', "'", '"', '$$', '*', '/', ' ', 'x'), {
      maxLength: 8,
    })
    .map((parts) => parts.join(''))
    .filter((text) => !text.includes('/*') && !text.includes('*/'))
  const filler = fc
    .array(
      fc.oneof(
        fc.constantFrom(' ', '\n', '\t', '\r\n'),
        commentText.map((text) => `/* ${text} */`),
        commentText.map((text) => `-- ${text}\n`),
      ),
      { maxLength: 4 },
    )
    .map((parts) => parts.join(''))

  it('never calls `R; W` or `W; R` a read', () => {
    fc.assert(
      fc.property(reads, writes, (read, write) => {
        // A newline ends any trailing line comment, so the `;` and both statements are there.
        expect(classifySql(`${read}\n;\n${write}`).intent).not.toBe('read')
        expect(classifySql(`${write}\n;\n${read}`).intent).not.toBe('read')
      }),
    )
  })

  it('keeps the intent of any catalogue statement wrapped in comments and whitespace', () => {
    const entries = fc.constantFrom(...READS, ...WRITES)
    fc.assert(
      fc.property(entries, filler, filler, ([sql, intent], before, after) => {
        expect(classifySql(`${before}${sql}\n${after}`).intent).toBe(intent)
      }),
    )
  })

  it('finds a write nested as a CTE, at any depth, in a plain read', () => {
    const dml = fc.constantFrom(
      'insert into t values (1) returning *',
      'update t set a = a + 1 returning *',
      'delete from t where a = 1 returning *',
      "merge into t using u on t.id = u.id when matched then update set a = 'x'",
    )
    fc.assert(
      fc.property(dml, fc.integer({ min: 0, max: 3 }), fc.boolean(), (write, depth, inFrom) => {
        let inner = `with w as (${write}) select 1`
        for (let level = 0; level < depth; level++)
          inner = `with c${level} as (${inner}) select * from c${level}`
        const sql = inFrom ? `select * from (${inner}) s` : inner
        const result = classifySql(sql)
        expect(result.intent).toBe('write')
        expect(result.reason).toMatch(/ in a CTE$/)
      }),
    )
  })

  it('reads a string constant whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        fc.pre(!text.includes('\0'))
        expect(classifySql(`select '${text.replaceAll("'", "''")}'`).intent).toBe('read')
      }),
    )
  })

  it('never throws, and always answers with a known intent', () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      fc.tuple(reads, fc.string()).map(([sql, tail]) => sql + tail),
    )
    fc.assert(
      fc.property(anyText, (text) => {
        const result = classifySql(text)
        expect(['read', 'write', 'unknown']).toContain(result.intent)
        expect(typeof result.reason).toBe('string')
      }),
      { numRuns: 500 },
    )
  })
})
