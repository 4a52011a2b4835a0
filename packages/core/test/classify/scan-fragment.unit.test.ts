import fc from 'fast-check'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { scanSqlFragment } from '../../src/classify/scan-fragment.js'
import { loadSqlParser } from '../../src/classify/sql-parser.js'
import type { Intent } from '../../src/model/intent.js'

/** [fragment, expected intent, expected reason (checked when given)] */
type Case = readonly [fragment: string, intent: Intent, reason?: string]

const READS: readonly Case[] = [
  ['', 'read', 'plain read'],
  [' ', 'read'],
  ['now()', 'read'],
  ['count(*)', 'read'],
  ['coalesce(a, b) + 1', 'read'],
  ['x::int', 'read'],
  ['$1', 'read'],
  ['current_timestamp', 'read'],
  ["interval '1 day'", 'read'],
  ['case when a then 1 else 0 end', 'read'],
  ['exists (select 1 from t where t.a = u.a)', 'read'],
  ['distinct on (a)', 'read'],
  ['fetch first 10 rows only', 'read'],
  ['order by a desc nulls last', 'read'],
  ['substring(a from 1 for 3)', 'read'],
  ["lower('nextval(')", 'read'],
  ["'insert into t values (1)'", 'read'],
  ["E'it\\'s; delete'", 'read'],
  ['"delete"', 'read'],
  ['"insert"("x")', 'read'],
  ['$$ delete from t $$', 'read'],
  ['$tag$ insert into t; $$ $tag$', 'read'],
  ['-- insert into t\n1', 'read'],
  ['/* delete from t */ 1', 'read'],
  ['t.nextval_count', 'read'],
]

const WRITES: readonly Case[] = [
  ['for update', 'write', 'FOR UPDATE'],
  ['for update skip locked', 'write', 'FOR UPDATE'],
  ['for no key update nowait', 'write', 'FOR NO KEY UPDATE'],
  ['FOR SHARE', 'write', 'FOR SHARE'],
  ['for key share of t', 'write', 'FOR KEY SHARE'],
  ['for -- why\n update', 'write', 'FOR UPDATE'],
  ['for /* c */ share', 'write', 'FOR SHARE'],
  ["nextval('s')", 'write', 'function nextval()'],
  ["pg_catalog.nextval('s')", 'write', 'function nextval()'],
  ['NEXTVAL(1)', 'write', 'function NEXTVAL()'],
  ['"nextval"(1)', 'write', 'function nextval()'],
  ['nextval /* c */ (1)', 'write', 'function nextval()'],
  ['nextval', 'write', 'function nextval()'],
  ["setval('s', 1)", 'write', 'function setval()'],
  ["currval('s')", 'write', 'function currval()'],
  ['lastval()', 'write', 'function lastval()'],
  ['pg_advisory_lock(1)', 'write', 'function pg_advisory_lock()'],
  ['pg_try_advisory_xact_lock(1)', 'write', 'function pg_try_advisory_xact_lock()'],
  ["set_config('a.b', 'c', false)", 'write', 'function set_config()'],
  ["pg_notify('ch', 'x')", 'write', 'function pg_notify()'],
  ['txid_current()', 'write', 'function txid_current()'],
  ['insert into t values (1)', 'write', 'keyword INSERT'],
  ['(delete from t returning *)', 'write', 'keyword DELETE'],
  ['update t set a = 1', 'write', 'keyword UPDATE'],
  ['set a = 1', 'write', 'keyword SET'],
  ['into temp t', 'write', 'keyword INTO'],
  ['merge into t', 'write', 'keyword MERGE'],
  ['1; delete from t', 'write', 'more than one statement'],
  ['copy t to stdout', 'write', 'keyword COPY'],
  ['call p()', 'write', 'keyword CALL'],
  ['do $$ begin end $$', 'write', 'keyword DO'],
  ['lock table t', 'write', 'keyword LOCK'],
  ['truncate t', 'write', 'keyword TRUNCATE'],
  ['create table x (a int)', 'write', 'keyword CREATE'],
  ['alter table x add b int', 'write', 'keyword ALTER'],
  ['drop table x', 'write', 'keyword DROP'],
  ['grant select on t to u', 'write', 'keyword GRANT'],
  ['revoke select on t from u', 'write', 'keyword REVOKE'],
  ['vacuum t', 'write', 'keyword VACUUM'],
  ['listen ch', 'write', 'keyword LISTEN'],
  ['refresh materialized view mv', 'write', 'keyword REFRESH'],
]

const UNKNOWNS: readonly Case[] = [
  ["'abc", 'unknown'],
  ['"abc', 'unknown'],
  ['/* abc', 'unknown'],
  ['$$ abc', 'unknown'],
  ['$a$ abc $b$', 'unknown'],
  ["E'abc\\'", 'unknown'],
  ['for', 'unknown', 'FOR at the end of a fragment'],
  ['select * from t for', 'unknown', 'FOR at the end of a fragment'],
  ['u&"n\\0065xtval"(1)', 'unknown', 'Unicode-escaped identifier'],
  ['1\0; delete from t', 'unknown', 'NUL character in SQL'],
]

beforeAll(async () => {
  await loadSqlParser()
})

describe('scanSqlFragment catalogue', () => {
  const cases = [...READS, ...WRITES, ...UNKNOWNS].map(([fragment, intent, reason]) => ({
    fragment,
    intent,
    reason,
  }))
  it.each(cases)('$fragment is $intent', ({ fragment, intent, reason }) => {
    const result = scanSqlFragment(fragment)
    expect(result.intent).toBe(intent)
    if (reason !== undefined) expect(result.reason).toBe(reason)
  })
})

describe('scanSqlFragment', () => {
  it('answers a repeated fragment from the cache, with the very same frozen object', () => {
    const first = scanSqlFragment('greatest(a, b)')
    expect(scanSqlFragment('greatest(a, b)')).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
  })

  it('is unknown until the parser is loaded, and does not cache that answer', async () => {
    vi.resetModules()
    const fresh = await import('../../src/classify/scan-fragment.js')
    const parser = await import('../../src/classify/sql-parser.js')
    expect(fresh.scanSqlFragment('now()')).toEqual({ intent: 'unknown', reason: 'sql parser not loaded' })
    await parser.loadSqlParser()
    expect(fresh.scanSqlFragment('now()')).toEqual({ intent: 'read', reason: 'plain read' })
  })
})

describe('scanSqlFragment properties', () => {
  const writeFunctions = fc.constantFrom(
    'nextval',
    'setval',
    'currval',
    'lastval',
    'pg_advisory_lock',
    'pg_try_advisory_xact_lock',
    'set_config',
    'pg_notify',
    'txid_current',
  )
  const randomCase = (word: string) =>
    fc
      .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
      .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''))
  const gap = fc.constantFrom('', ' ', '\n', '/* ( */', '-- x\n')

  it('finds a write function in any case, qualified or not, with comments before the call', () => {
    fc.assert(
      fc.property(writeFunctions.chain(randomCase), fc.boolean(), gap, (name, qualified, between) => {
        const call = `${qualified ? 'pg_catalog.' : ''}${name}${between}(1)`
        expect(scanSqlFragment(`coalesce(${call}, 0)`).intent).toBe('write')
      }),
    )
  })

  it('keeps the intent of any catalogue fragment wrapped in comments and whitespace', () => {
    fc.assert(
      fc.property(fc.constantFrom(...READS, ...WRITES), gap, gap, ([fragment, intent], before, after) => {
        expect(scanSqlFragment(`${before}${fragment}\n${after}`).intent).toBe(intent)
      }),
    )
  })

  it('reads a string constant or dollar-quoted string whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        fc.pre(!text.includes('\0') && !text.includes('$q$'))
        expect(scanSqlFragment(`'${text.replaceAll("'", "''")}'`).intent).toBe('read')
        expect(scanSqlFragment(`$q$${text}$q$`).intent).toBe('read')
      }),
    )
  })

  it('never throws, and always answers with a known intent', () => {
    const anyText = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }))
    fc.assert(
      fc.property(anyText, (text) => {
        const result = scanSqlFragment(text)
        expect(['read', 'write', 'unknown']).toContain(result.intent)
        expect(typeof result.reason).toBe('string')
      }),
      { numRuns: 500 },
    )
  })
})
