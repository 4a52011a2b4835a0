// Kysely 0.29's abort signals, under each of its three inflight abort strategies,
// with CausewayDialect and with PostgresDialect on the same primary: both must leave
// the same outcome. Run only by the `kysely-029` vitest project (pnpm test:kysely-029),
// on Node 22, which Kysely 0.29 requires; 0.28's execute() takes no signal.
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster, waitFor } from '@causeway/testing'
import * as kysely from 'kysely'
import { type InflightQueryAbortStrategy, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

interface DB {
  counters: { id: string; n: number }
}

let cluster: TestCluster
const dbs: Record<'PostgresDialect' | 'CausewayDialect', Kysely<DB>> = {} as never

beforeAll(async () => {
  cluster = await startCluster()
  await cluster.primary.query('create table counters (id text primary key, n int not null)')
  const pool = new pg.Pool({ connectionString: cluster.primary.url, max: 4 })
  // 'kill session' closes the socket of a client PostgresDialect still holds, and pg
  // emits that on the client, where nothing listens: uncaught, it would fail the run.
  // (CausewayDialect's own pools listen.)
  pool.on('connect', (client) => client.on('error', () => {}))
  pool.on('error', () => {})
  dbs.PostgresDialect = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  dbs.CausewayDialect = new Kysely<DB>({
    dialect: new CausewayDialect({
      primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
      replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    }),
  })
})
afterAll(async () => {
  await Promise.all(Object.values(dbs).map((db) => db.destroy()))
  await cluster?.close()
})

it('runs on Kysely 0.29 and Node 22 (the kysely-029 project)', () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22)
  // ALTER TYPE came with 0.29.
  expect('AlterTypeNode' in kysely).toBe(true)
})

/** Whether a statement tagged `tag` is running on the primary. */
async function running(tag: string): Promise<boolean> {
  const rows = await cluster.primary.query(
    "select 1 from pg_stat_activity where state = 'active' and query like '%' || $1 || '%' and pid <> pg_backend_pid()",
    [tag],
  )
  return rows.length > 0
}

/**
 * Aborts a slow UPDATE once it is seen running on the server, waits until the server
 * is done with it, and says whether its write was applied.
 */
async function abortSlowUpdate(db: Kysely<DB>, strategy: InflightQueryAbortStrategy, tag: string) {
  const printed = vi.spyOn(console, 'error').mockImplementation(() => {})
  await cluster.primary.query('insert into counters values ($1, 0)', [tag])
  const controller = new AbortController()
  const update = db
    .updateTable('counters')
    .set({ n: sql<number>`n + 1` })
    .where('id', '=', tag)
    // The literal tag finds the statement in pg_stat_activity.
    .where(sql<boolean>`pg_sleep(1.5) is not null and ${sql.lit(tag)} <> ''`)
    .execute({ signal: controller.signal, inflightQueryAbortStrategy: strategy })
  const outcome = update.then(
    () => 'finished',
    (error: unknown) => (error as Error).name,
  )
  await waitFor(() => running(tag), { what: `${tag} to run`, timeoutMillis: 10_000 })
  controller.abort()
  const settled = await outcome
  await waitFor(async () => !(await running(tag)), { what: `${tag} to end`, timeoutMillis: 10_000 })
  const [row] = await cluster.primary.query<{ n: number }>('select n from counters where id = $1', [tag])
  // The connection the abort left behind is usable (or was replaced) either way.
  const after = await db.selectFrom('counters').select('n').where('id', '=', tag).executeTakeFirst()
  // Kysely prints "`query` failed in the background after abortion" when the statement
  // it stopped waiting for failed: with PostgresDialect, only when it was cancelled.
  const failedInBackground = printed.mock.calls.some((call) => String(call[0]).includes('`query` failed'))
  printed.mockRestore()
  return { settled, applied: row?.n === 1, failedInBackground, usableAfter: after !== undefined }
}

describe('an aborted slow UPDATE: the same outcome as PostgresDialect', () => {
  it.each([
    // Kysely's default: it stops waiting, and the statement runs on and commits.
    ['ignore query', true],
    ['cancel query', false],
    ['kill session', false],
  ] as const)('%s: applied %s', async (strategy, applied) => {
    const slug = strategy.replace(' ', '_')
    const pgOutcome = await abortSlowUpdate(dbs.PostgresDialect, strategy, `pg_${slug}`)
    const causewayOutcome = await abortSlowUpdate(dbs.CausewayDialect, strategy, `cw_${slug}`)
    expect(pgOutcome).toEqual({
      settled: 'AbortError',
      applied,
      failedInBackground: !applied,
      usableAfter: true,
    })
    expect(causewayOutcome).toEqual(pgOutcome)
  })
})
