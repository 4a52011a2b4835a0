// The flights that statement mirrors build on, on a real server: pipelinedQueries
// (several steps, one Sync), and the commit-position reads of an autocommit write
// and of a COMMIT, including what a critic would try: a failing step in the
// middle, a lost named statement, a refused position function, a deferred
// constraint failing at COMMIT, a value pg cannot convert, a killed session.
import { startCluster, type TestCluster } from '@causeway/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { beganWrite, flightCommit, positionedWrite } from '../../src/connection/commit-position.js'
import { parseLsn } from '../../src/consistency/lsn.js'
import {
  type CountResult,
  pipelinedQueries,
  type RawResult,
  rawStep,
} from '../../src/driver/pipelined-queries.js'
import { CausewayError } from '../../src/errors/causeway-error.js'

let cluster: TestCluster
const opened: pg.Client[] = []
const ROLE = 'position_app'
const PASSWORD = 'position-secret-1'

async function connect(url = cluster.primary.url): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {}) // a terminated backend; the test looks at the query's rejection
  opened.push(client)
  await client.connect()
  return client
}

function asRole(url: string): string {
  const parsed = new URL(url)
  parsed.username = ROLE
  parsed.password = PASSWORD
  return parsed.toString()
}

const count = async (client: pg.Client, table: string) =>
  Number((await client.query(`select count(*) as n from ${table}`)).rows[0].n)

async function insertLsn(client: pg.Client): Promise<bigint> {
  return parseLsn((await client.query('select pg_current_wal_insert_lsn()::text as lsn')).rows[0].lsn)
}

beforeAll(async () => {
  cluster = await startCluster({ replicas: 0, fromEnv: false })
  await cluster.primary.query('create table cp (id int primary key, at timestamptz, big int8)')
  await cluster.primary.query(
    'create table cp_deferred (id int, constraint cp_deferred_u unique (id) deferrable initially deferred)',
  )
  await cluster.primary.query(`create role ${ROLE} login password '${PASSWORD}'`)
  await cluster.primary.query(`grant select, insert, update, delete on cp, cp_deferred to ${ROLE}`)
})
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((c) => c.end()))
  await cluster.primary.query('truncate cp, cp_deferred')
})
afterAll(async () => {
  await cluster?.close()
})

describe('pipelinedQueries', () => {
  it("gives every kind of step its result: pg's Result with its type parsers, a raw row, a command tag", async () => {
    const client = await connect()
    const at = new Date('2026-01-02T03:04:05Z')
    const { results, failed } = await pipelinedQueries(client, [
      {
        sql: 'insert into cp values ($1, $2, $3) returning id, at, big',
        values: [1, at, '9007199254740993'],
      },
      rawStep("select 'raw', null::text"),
      { count: 'update cp set big = big + 1 where id = $1', values: [1], name: 'cp_named', parsed: false },
      { count: 'update cp set big = big + 1 where id = $1', values: [1], name: 'cp_named', parsed: false },
      { count: 'update cp set big = big + 1 where id = $1', values: [2] },
    ])
    expect(failed).toBeUndefined()
    const first = results[0] as pg.QueryResult
    expect(first).toMatchObject({
      command: 'INSERT',
      rowCount: 1,
      rows: [{ id: 1, at, big: '9007199254740993' }],
    })
    expect(first.fields.map((f) => f.name)).toEqual(['id', 'at', 'big'])
    expect((results[1] as RawResult).fields).toEqual(['raw', null])
    expect(results.slice(2) as CountResult[]).toEqual([
      { command: 'UPDATE', rowCount: 1 },
      { command: 'UPDATE', rowCount: 1 },
      { command: 'UPDATE', rowCount: 0 },
    ])
    // The named statement is in the session now: bound without a Parse.
    const again = await pipelinedQueries(client, [
      { count: 'x', values: [1], name: 'cp_named', parsed: true },
    ])
    expect(again.results).toEqual([{ command: 'UPDATE', rowCount: 1 }])
    expect((await client.query('select big from cp')).rows).toEqual([{ big: '9007199254740996' }])
  })

  it('a step the server refuses: the steps before it answered, the rest skipped, the implicit transaction rolled back', async () => {
    const client = await connect()
    const { results, failed } = await pipelinedQueries(client, [
      { sql: 'insert into cp (id) values ($1)', values: [1] },
      { sql: 'insert into cp (id) values ($1)', values: [1] },
      { sql: 'insert into cp (id) values ($1)', values: [2] },
    ])
    expect(results).toHaveLength(1)
    expect(failed?.step).toBe(1)
    expect(failed?.error).toMatchObject({ code: '23505', constraint: 'cp_pkey' })
    expect(await count(client, 'cp')).toBe(0)
    // The client answers its next query with its own result.
    expect((await client.query('select 41 + 1 as n')).rows).toEqual([{ n: 42 }])
  })

  it('in a transaction block, a failed step leaves the block aborted', async () => {
    const client = await connect()
    await client.query('begin')
    const { failed } = await pipelinedQueries(client, [
      { sql: 'insert into cp (id) values ($1)', values: [1] },
      { sql: 'select 1 / $1::int', values: [0] },
    ])
    expect(failed).toMatchObject({ step: 1, error: { code: '22012' } })
    expect(client.getTransactionStatus()).toBe('E')
    expect((await client.query('commit')).command).toBe('ROLLBACK')
    expect(await count(client, 'cp')).toBe(0)
  })

  it('a value pg cannot convert rejects before anything is sent, and the client stays usable', async () => {
    const client = await connect()
    const circular: Record<string, unknown> = {}
    circular.self = circular
    await expect(
      pipelinedQueries(client, [
        { sql: 'insert into cp (id) values ($1)', values: [1] },
        { sql: 'select $1::jsonb', values: [circular] },
      ]),
    ).rejects.toThrow(/circular/i)
    expect(await count(client, 'cp')).toBe(0)
  })

  it('a named statement thought parsed but missing fails with 26000, and nothing of the flight applies', async () => {
    const client = await connect()
    const { failed } = await pipelinedQueries(client, [
      { sql: 'insert into cp (id) values ($1)', values: [1] },
      { count: 'update cp set big = 1', values: [], name: 'never_made', parsed: true },
    ])
    expect(failed).toMatchObject({ step: 1, error: { code: '26000' } })
    expect(await count(client, 'cp')).toBe(0)
  })

  it('a session killed mid-flight rejects with the connection error', async () => {
    const client = await connect()
    const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid
    const flight = pipelinedQueries(client, [
      { sql: 'select pg_sleep(5)', values: [] },
      { sql: 'insert into cp (id) values ($1)', values: [1] },
    ])
    // Observed from now: it may reject before the terminate's own query returns.
    const rejected = expect(flight).rejects.toThrow(/terminat/)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await cluster.primary.query('select pg_terminate_backend($1)', [pid])
    await rejected
    expect(await count(await connect(), 'cp')).toBe(0)
  })
})

describe('commit positions', () => {
  it("an autocommit write's position is read before its commit, and the write commits once", async () => {
    const client = await connect()
    const before = await insertLsn(client)
    const { result, position } = await positionedWrite(
      client,
      'insert into cp (id) values ($1) returning id',
      [1],
    )
    const after = await insertLsn(client)
    expect(result.rows).toEqual([{ id: 1 }])
    expect(position).toBeGreaterThan(before)
    // The commit record comes after the position: the next read is past it.
    expect(after).toBeGreaterThan(position!)
    expect(await count(client, 'cp')).toBe(1)
  })

  it("a write that waited for another one's row lock reads a position past that one's", async () => {
    const [a, b] = [await connect(), await connect()]
    await a.query('insert into cp (id, big) values (1, 1)')
    await a.query('begin')
    await a.query('update cp set big = big + 1 where id = 1')
    const waiting = positionedWrite(b, 'update cp set big = big * 2 where id = $1', [1])
    await new Promise((resolve) => setTimeout(resolve, 200))
    const committed = await flightCommit(a, { position: 'read' })
    const waited = await waiting
    expect(committed.result.command).toBe('COMMIT')
    expect(waited.position).toBeGreaterThan(committed.position!)
    expect((await a.query('select big from cp')).rows).toEqual([{ big: '4' }])
  })

  it('a named position read the session lost (DISCARD ALL) is made again: the write commits exactly once', async () => {
    const client = await connect()
    await positionedWrite(client, 'insert into cp (id) values ($1)', [1]) // the read is named now
    await client.query('discard all')
    const { position } = await positionedWrite(client, 'insert into cp (id) values ($1)', [2])
    expect(position).toBeDefined()
    await positionedWrite(client, 'insert into cp (id) values ($1)', [3])
    expect((await client.query('select id from cp order by id')).rows).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ])
  })

  it('several statements without parameters keep the simple protocol, and give their results', async () => {
    const client = await connect()
    const { result, position } = await positionedWrite(
      client,
      'insert into cp (id) values (1); insert into cp (id) values (2) -- two',
      [],
    )
    expect((result as unknown as pg.QueryResult[]).map((r) => r.rowCount)).toEqual([1, 1])
    expect(position).toBeDefined()
  })

  it('a statement that cannot run in a transaction block runs alone, once', async () => {
    const client = await connect()
    // With a ';' it goes as a simple query, where the position read would put it in a block.
    const { alone, position, result } = await positionedWrite(client, 'vacuum cp;', [])
    expect(alone).toBe(true)
    expect(result.command).toBe('VACUUM')
    expect(position).toBeDefined()
    // Alone in its flight, it runs first and outside any block.
    expect((await positionedWrite(client, 'vacuum cp', [])).result.command).toBe('VACUUM')
  })

  it('an aborted transaction only gets its COMMIT (answered ROLLBACK); a deferred constraint fails the COMMIT as it would alone', async () => {
    const client = await connect()
    await client.query('begin')
    await client.query('select 1 / 0').catch(() => {})
    expect((await flightCommit(client, { position: 'read' })).result.command).toBe('ROLLBACK')
    await client.query('begin')
    await client.query('insert into cp_deferred values (1), (1)')
    await expect(flightCommit(client, { position: 'guarded' })).rejects.toMatchObject({ code: '23505' })
    expect(client.getTransactionStatus()).toBe('I')
    expect(await count(client, 'cp_deferred')).toBe(0)
  })

  it('a refused position function: the write runs alone once; a guarded COMMIT still commits; an unguarded one says it rolled back', async () => {
    await cluster.primary.query('revoke execute on function pg_current_wal_insert_lsn() from public')
    try {
      const client = await connect(asRole(cluster.primary.url))
      const write = await positionedWrite(client, 'insert into cp (id) values ($1)', [1])
      expect(write).toMatchObject({ position: undefined, alone: true, refused: { code: '42501' } })
      expect(await count(client, 'cp')).toBe(1)

      await client.query('begin')
      await client.query('insert into cp (id) values (2)')
      const guarded = await flightCommit(client, { position: 'guarded' })
      expect(guarded).toMatchObject({
        result: { command: 'COMMIT' },
        position: undefined,
        refused: { code: '42501' },
      })
      expect(await count(client, 'cp')).toBe(2)

      await client.query('begin')
      await client.query('insert into cp (id) values (3)')
      const error = await flightCommit(client, { position: 'read' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CausewayError)
      expect(error).toMatchObject({ code: 'FUNCTION_REFUSED', message: /rolled back, not committed/ })
      expect(client.getTransactionStatus()).toBe('I')
      expect(await count(client, 'cp')).toBe(2)
    } finally {
      await cluster.primary.query('grant execute on function pg_current_wal_insert_lsn() to public')
    }
  })

  it("a durable mirror's flights: BEGIN with the write, then the outbox row with the COMMIT", async () => {
    const client = await connect()
    const began = await beganWrite(client, 'insert into cp (id) values ($1) returning id', [1])
    expect(began.result.rows).toEqual([{ id: 1 }])
    expect(client.getTransactionStatus()).toBe('T')
    const committed = await flightCommit(client, {
      before: { sql: 'insert into cp_deferred values ($1)', parameters: [1] },
      position: 'read',
    })
    expect(committed.result.command).toBe('COMMIT')
    expect(committed.position).toBeDefined()
    expect(await count(client, 'cp')).toBe(1)
    expect(await count(client, 'cp_deferred')).toBe(1)
  })

  it('a write that fails in its BEGIN flight leaves the block aborted; a refused outbox row rolls everything back', async () => {
    const client = await connect()
    await client.query('insert into cp (id) values (1)')
    await expect(beganWrite(client, 'insert into cp (id) values ($1)', [1])).rejects.toMatchObject({
      code: '23505',
    })
    expect(client.getTransactionStatus()).toBe('E')
    await client.query('rollback')
    await beganWrite(client, 'insert into cp (id) values ($1)', [2])
    await expect(
      flightCommit(client, {
        before: { sql: 'insert into cp_missing values ($1)', parameters: [1] },
        position: 'none',
      }),
    ).rejects.toMatchObject({ code: '42P01' })
    expect(client.getTransactionStatus()).toBe('I')
    expect((await client.query('select id from cp order by id')).rows).toEqual([{ id: 1 }])
    // Several statements in one parameterless text: BEGIN, then the text, as the simple protocol allows.
    await beganWrite(client, 'insert into cp (id) values (3); insert into cp (id) values (4)', [])
    expect((await flightCommit(client, { position: 'guarded' })).result.command).toBe('COMMIT')
    expect(await count(client, 'cp')).toBe(3)
  })
})
