// The same-flight replay check on real servers: the read's result is exactly
// client.query's, errors keep every field and leave the client usable, and a
// position at or past a token proves that the read sees the token's write.
import { startCluster, type TestCluster } from '@causeway/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Lsn, normalizeInsertLsn, parseLsn } from '../../src/consistency/lsn.js'
import { type ReplayCheckSync, replayCheckedQuery } from '../../src/driver/replay-checked-query.js'
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
