// The same-flight replay check on real servers: the read's result is exactly
// client.query's, errors keep every field and leave the client usable, and a
// position at or past a token proves that the read sees the token's write.
import { startCluster, type TestCluster } from '@causeway/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ReplayCheckSync, replayCheckedQuery } from '../../src/connection/replay-checked-query.js'
import { type Lsn, normalizeInsertLsn, parseLsn } from '../../src/consistency/lsn.js'
import { CausewayError } from '../../src/errors/causeway-error.js'

let cluster: TestCluster
const opened: pg.Client[] = []

async function connect(url: string, config: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...config })
  client.on('error', () => {}) // a terminated backend; the test looks at the query's rejection
  opened.push(client)
  await client.connect()
  return client
}

const replicaUrl = () => cluster.replicas[0]!.url
const modes: ReplayCheckSync[] = ['each', 'once']

async function insertLsn(): Promise<Lsn> {
  const [row] = await cluster.primary.query<{ lsn: string }>(
    'select pg_current_wal_insert_lsn()::text as lsn',
  )
  return normalizeInsertLsn(parseLsn(row!.lsn))
}

async function replayed(lsn: Lsn): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const [row] = await cluster.replicas[0]!.query<{ lsn: string }>(
      'select pg_last_wal_replay_lsn()::text as lsn',
    )
    if (parseLsn(row!.lsn) >= lsn) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('the replica did not replay in time')
}

beforeAll(async () => {
  cluster = await startCluster({ replicas: 1 })
  await cluster.primary.query(
    'create table items (id int primary key, name text, price numeric, tags text[])',
  )
  await cluster.primary.query(
    "insert into items select i, 'item ' || i, i * 1.25, array['a', 'b'] from generate_series(1, 100) as i",
  )
  await cluster.primary.query('create table writes (id bigserial primary key, tag text not null)')
  await replayed(await insertLsn())
})
afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => client.end().catch(() => {})))
})
afterAll(async () => {
  await cluster?.close()
})

/** Everything of a result that a caller can see. */
function visible(result: pg.QueryResult) {
  return {
    class: result.constructor,
    rows: result.rows,
    fields: result.fields,
    command: result.command,
    rowCount: result.rowCount,
    oid: result.oid,
  }
}

const cases: [string, string, unknown[]][] = [
  [
    'scalars',
    "select 1::int as a, 2::bigint as b, 1.5::numeric as c, 'x'::text as d, true as e, null::int as f",
    [],
  ],
  [
    'parameters of every kind',
    `select $1::int + 1 as n, $2::text as t, $3::timestamptz as ts, $4::date as d, $5::jsonb as j,
            $6::bytea as b, $7::int[] as arr, $8::uuid as u, $9::interval as i, $10::text as nul, $11::float8 as f,
            $12::json as plain, $13::text as custom, $14::pg_lsn as lsn`,
    [
      41,
      'héllo ✓',
      new Date('2024-02-29T12:34:56.789Z'),
      '2024-02-29',
      { a: [1, 2], b: 'c' },
      Buffer.from([0, 1, 2, 255]),
      [1, 2, 3],
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      '1 day 02:03:04',
      undefined,
      1.5e300,
      { nested: [true, null] },
      { toPostgres: () => 'from toPostgres' },
      '16/B374D848',
    ],
  ],
  ['a table read', 'select * from items where id between $1 and $2 order by id', [3, 7]],
  ['an empty result', 'select * from items where id < $1', [0]],
  ['a large result', "select g, repeat('x', 200) as pad from generate_series(1, 20000) as g", []],
  ['VALUES', "values (1, 'a'), (2, null)", []],
  ['TABLE', 'table items', []],
  ['SHOW', 'show transaction_isolation', []],
  ['a statement without rows', 'do $$ begin perform 1; end $$', []],
  ['an empty statement', '', []],
]

describe('the read gives exactly what client.query gives', () => {
  for (const sync of modes) {
    it.each(cases)(`%s (sync: ${sync})`, async (_name, sql, values) => {
      const client = await connect(replicaUrl())
      const expected = await client.query(sql, values)
      const { result } = await replayCheckedQuery(client, sql, values, { sync })
      expect(visible(result)).toEqual(visible(expected))
      expect(result.constructor).toBe(expected.constructor)
    })
  }

  it("with the client's own type parsers (the types option and setTypeParser) and in binary mode", async () => {
    const types = new pg.TypeOverrides()
    types.setTypeParser(pg.types.builtins.INT4, (text: string) => `int4:${text}`)
    const sql = 'select $1::int as i, $2::bigint as b, $3::numeric as n, $4::date as d'
    const values = [7, '9007199254740993', '1.10', '2024-01-02']
    for (const config of [{ types }, { types, binary: true }]) {
      const client = await connect(replicaUrl(), config)
      client.setTypeParser(pg.types.builtins.INT8, 'text', (text: string) => BigInt(text))
      const expected = await client.query(sql, values)
      const { result } = await replayCheckedQuery(client, sql, values)
      expect(visible(result)).toEqual(visible(expected))
    }
    const client = await connect(replicaUrl(), { types })
    const { result } = await replayCheckedQuery(client, sql, values)
    expect(result.rows[0]!.i).toBe('int4:7')
  })
})

/** Every field of a pg error but its stack. */
function fieldsOf(error: unknown) {
  const { stack: _stack, ...fields } = Object.getOwnPropertyDescriptors(error)
  return {
    class: (error as object).constructor,
    message: (error as Error).message,
    ...Object.fromEntries(Object.entries(fields).map(([key, d]) => [key, d.value])),
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('errors', () => {
  for (const sync of modes) {
    it(`a failed read rejects with pg's own DatabaseError, every field kept, and the client stays usable (sync: ${sync})`, async () => {
      const client = await connect(replicaUrl())
      for (const [sql, values] of [
        ['select 1 / $1::int as x', [0]],
        ['select missing_column from items where id = $1', [1]],
        ['select $1::int', ['not a number']],
        ['insert into items (id) values (1000)', []],
      ] as [string, unknown[]][]) {
        const expected = await rejection(client.query(sql, values))
        const error = await rejection(replayCheckedQuery(client, sql, values, { sync }))
        expect(error).toBeInstanceOf(pg.DatabaseError)
        expect(fieldsOf(error)).toEqual(fieldsOf(expected))
        expect((await replayCheckedQuery(client, 'select $1::int as n', [5], { sync })).result.rows).toEqual([
          { n: 5 },
        ])
      }
    })

    it(`rejects once the connection is ready again: in a transaction block, the block is already failed (sync: ${sync})`, async () => {
      const client = await connect(replicaUrl())
      await client.query('begin')
      const status = await replayCheckedQuery(client, 'select 1 / 0', [], { sync }).then(
        () => 'resolved',
        () => client.getTransactionStatus(),
      )
      expect(status).toBe('E')
      await client.query('rollback')
      expect((await client.query('select 1 as n')).rows).toEqual([{ n: 1 }])
    })

    it(`a failed check is reported apart, as REPLAY_CHECK_FAILED with the server's error (sync: ${sync})`, async () => {
      await cluster.primary.query('create role checkless login password $$checkless$$')
      await cluster.primary.query('revoke execute on function pg_last_wal_replay_lsn() from public')
      try {
        await replayed(await insertLsn())
        const url = new URL(replicaUrl())
        url.username = 'checkless'
        url.password = 'checkless'
        const client = await connect(url.toString())
        const error = await rejection(replayCheckedQuery(client, 'select $1::int as n', [1], { sync }))
        expect(error).toBeInstanceOf(CausewayError)
        expect(error).toMatchObject({ code: 'REPLAY_CHECK_FAILED', sqlState: '42501' })
        expect((error as Error).cause).toBeInstanceOf(pg.DatabaseError)
        // It names the refused function and the fix, and no credential.
        expect((error as Error).message).toMatch(/refuses pg_last_wal_replay_lsn\(\).*grant pg_monitor/i)
        expect((error as Error).message).not.toContain('checkless')
        // The read's own error still wins over nothing: a check that passes is needed for a result.
        expect((await client.query('select 2 as n')).rows).toEqual([{ n: 2 }])
        expect(client.getTransactionStatus()).toBe('I')
      } finally {
        await cluster.primary.query('grant execute on function pg_last_wal_replay_lsn() to public')
        await cluster.primary.query('drop role checkless')
      }
    })

    it(`waits in the client's queue and keeps the client until its last answer (sync: ${sync})`, async () => {
      const client = await connect(replicaUrl())
      // Issued back to back: pg queues them; none may take another's answers.
      const before = client.query('select $1::text as q', ['before'])
      const checked = replayCheckedQuery(
        client,
        'select $1::text as q, pg_sleep(0.05)::text as s',
        ['checked'],
        {
          sync,
        },
      )
      const failed = rejection(replayCheckedQuery(client, 'select 1 / 0 as q', [], { sync }))
      const after = client.query('select $1::text as q', ['after'])
      expect((await before).rows).toEqual([{ q: 'before' }])
      expect((await checked).result.rows).toEqual([{ q: 'checked', s: '' }])
      expect(await failed).toMatchObject({ code: '22012' })
      expect((await after).rows).toEqual([{ q: 'after' }])
    })

    it(`query_timeout rejects at once, and the client's next query gets its own answer (sync: ${sync})`, async () => {
      const client = await connect(replicaUrl(), { query_timeout: 200 })
      const timedOut = rejection(replayCheckedQuery(client, 'select pg_sleep(0.6) as slept', [], { sync }))
      // Queued behind the flight, with a timeout of its own that outlasts the sleep.
      const next = client.query({
        text: 'select $1::text as q',
        values: ['next'],
        query_timeout: 10_000,
      } as pg.QueryConfig)
      expect(await timedOut).toMatchObject({ message: 'Query read timeout' })
      expect((await next).rows).toEqual([{ q: 'next' }])
    })

    it(`a connection lost mid-flight rejects with the connection's error (sync: ${sync})`, async () => {
      const client = await connect(replicaUrl())
      const { pid } = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!
      const killed = rejection(replayCheckedQuery(client, 'select pg_sleep(5)', [], { sync }))
      await new Promise((resolve) => setTimeout(resolve, 100))
      await cluster.replicas[0]!.query('select pg_terminate_backend($1)', [pid])
      expect(await killed).toMatchObject({ code: '57P01' }) // as pg's own Query reports it

      const dropped = await connect(replicaUrl())
      const cut = rejection(replayCheckedQuery(dropped, 'select pg_sleep(5)', [], { sync }))
      await new Promise((resolve) => setTimeout(resolve, 100))
      dropped.connection.stream.destroy()
      expect(await cut).toMatchObject({ message: 'Connection terminated unexpectedly' })
    })
  }

  it('a pipelined client refuses it, as pg refuses any custom query there', async () => {
    const client = await connect(replicaUrl(), { pipeline: true } as pg.ClientConfig)
    expect(await rejection(replayCheckedQuery(client, 'select 1', []))).toMatchObject({
      message: expect.stringContaining('not supported in pipeline mode'),
    })
  })
})

describe('the replay position', () => {
  it('is the position the replica had replayed; undefined on a primary', async () => {
    const replica = cluster.replicas[0]!
    await replica.pauseReplay()
    try {
      const [row] = await replica.query<{ lsn: string }>('select pg_last_wal_replay_lsn()::text as lsn')
      const client = await connect(replica.url)
      for (const sync of modes) {
        expect((await replayCheckedQuery(client, 'select 1', [], { sync })).replayLsn).toBe(
          parseLsn(row!.lsn),
        )
      }
    } finally {
      await replica.resumeReplay()
    }
    const primary = await connect(cluster.primary.url)
    for (const sync of modes) {
      expect((await replayCheckedQuery(primary, 'select 1', [], { sync })).replayLsn).toBeUndefined()
    }
  })

  for (const sync of modes) {
    it(`is below a write that a paused replica has not replayed, and the read misses it; past it once replayed, and the read sees it (sync: ${sync})`, async () => {
      const replica = cluster.replicas[0]!
      const client = await connect(replica.url)
      const read = (id: string) =>
        replayCheckedQuery<{ seen: boolean }>(
          client,
          'select exists(select 1 from writes where id = $1) as seen',
          [id],
        )
      await replica.pauseReplay()
      let id: string
      let token: Lsn
      try {
        const [row] = await cluster.primary.query<{ id: string }>(
          "insert into writes (tag) values ('paused') returning id",
        )
        id = row!.id
        token = await insertLsn()
        const { replayLsn, result } = await read(id)
        expect(result.rows).toEqual([{ seen: false }])
        expect(replayLsn).toBeLessThan(token)
      } finally {
        await replica.resumeReplay()
      }
      for (let i = 0; ; i++) {
        const { replayLsn, result } = await read(id)
        if (replayLsn! >= token) {
          expect(result.rows).toEqual([{ seen: true }])
          break
        }
        expect(i).toBeLessThan(1000)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })
  }
})

describe('the snapshot rule: a position proves something only when the read’s snapshot was taken after it', () => {
  const position = async (client: pg.Client, sync: ReplayCheckSync) =>
    (await replayCheckedQuery(client, 'select 1', [], { sync })).replayLsn

  it('one Sync proves freshness only under READ COMMITTED; a Sync each, under any level outside a block', async () => {
    const client = await connect(replicaUrl())
    expect(await position(client, 'once')).toBeTypeOf('bigint')
    expect(await position(client, 'each')).toBeTypeOf('bigint')
    await client.query("set default_transaction_isolation = 'repeatable read'")
    expect(await position(client, 'once')).toBeUndefined()
    expect(await position(client, 'each')).toBeTypeOf('bigint')
    await client.query('reset default_transaction_isolation')
    for (const sync of modes) {
      await client.query('begin isolation level repeatable read')
      expect(await position(client, sync)).toBeUndefined()
      await client.query('rollback')
      await client.query('begin isolation level read committed')
      expect(await position(client, sync)).toBeTypeOf('bigint')
      await client.query('rollback')
    }
  })

  for (const sync of modes) {
    it(`inside a REPEATABLE READ snapshot, a replayed position says nothing of the read: nothing is proven (sync: ${sync})`, async () => {
      const client = await connect(replicaUrl())
      await client.query('begin isolation level repeatable read')
      await client.query('select 1') // takes the transaction's snapshot
      const [row] = await cluster.primary.query<{ id: string }>(
        "insert into writes (tag) values ('after the snapshot') returning id",
      )
      const token = await insertLsn()
      await replayed(token)
      const { replayLsn, result } = await replayCheckedQuery<{ seen: boolean; position: string }>(
        client,
        'select exists(select 1 from writes where id = $1) as seen, pg_last_wal_replay_lsn()::text as position',
        [row!.id],
        { sync },
      )
      // The server is past the write, yet the read does not see it.
      expect(parseLsn(result.rows[0]!.position)).toBeGreaterThanOrEqual(token)
      expect(result.rows[0]!.seen).toBe(false)
      expect(replayLsn).toBeUndefined()
      await client.query('rollback')
    })
  }

  // Many insert-then-checked-read pairs at once: every read whose position is at
  // or past its write's token must see that write. The read sleeps inside its
  // snapshot (5 ms), so a position read after the read's snapshot was taken (the wrong
  // order) would often pass the token while the snapshot misses the row.
  it.each([
    ['each', 'read committed'],
    ['once', 'read committed'],
    ['each', 'repeatable read'],
    ['once', 'repeatable read'],
  ] as [ReplayCheckSync, string][])(
    'under load: no proven read misses its write (sync: %s, %s)',
    async (sync, isolation) => {
      const workers = 8
      const pairs = 60
      let proven = 0
      const violations: string[] = []
      await Promise.all(
        Array.from({ length: workers }, async (_, worker) => {
          const primary = await connect(cluster.primary.url)
          const replica = await connect(replicaUrl(), {
            options: `-c default_transaction_isolation=${isolation.replace(' ', '\\ ')}`,
          })
          for (let i = 0; i < pairs; i++) {
            const { rows } = await primary.query<{ id: string }>(
              'insert into writes (tag) values ($1) returning id',
              [`${worker}/${i}`],
            )
            const id = rows[0]!.id
            const [lsn] = (
              await primary.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')
            ).rows
            const token = normalizeInsertLsn(parseLsn(lsn!.lsn))
            if (i % 2) await new Promise((resolve) => setTimeout(resolve, 1))
            const { replayLsn, result } = await replayCheckedQuery<{ seen: boolean }>(
              replica,
              'select exists(select 1 from writes where id = $1) as seen from pg_sleep(0.005)',
              [id],
              { sync },
            )
            if (replayLsn === undefined || replayLsn < token) continue
            proven++
            if (!result.rows[0]!.seen) violations.push(`row ${id}: position ${replayLsn} >= token ${token}`)
          }
        }),
      )
      expect(violations).toEqual([])
      if (sync === 'once' && isolation === 'repeatable read') expect(proven).toBe(0)
      else expect(proven).toBeGreaterThan(0)
    },
  )
})
