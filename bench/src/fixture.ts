import type { TestCluster } from '@causeway/testing'
import { ITEMS_TABLE, WRITES_TABLE } from './schema.js'

/** Rows in the bench table: small enough to stay in `shared_buffers`, large enough to spread ids. */
export const ROWS = 10_000

/**
 * Creates and fills the bench table on the primary, and the (empty) table the
 * write workloads insert into, then waits until every replica has replayed them,
 * so that no contender's first reads find an empty replica.
 */
export async function createFixture(cluster: TestCluster, timeoutMillis = 30_000): Promise<void> {
  await cluster.primary.query(`drop table if exists ${ITEMS_TABLE}`)
  await cluster.primary.query(
    `create table ${ITEMS_TABLE} (
      id int primary key,
      name text not null,
      qty int not null,
      updated_at timestamptz not null default now()
    )`,
  )
  await cluster.primary.query(
    `insert into ${ITEMS_TABLE} (id, name, qty)
     select i, 'item ' || i, i % 100 from generate_series(1, $1::int) as i`,
    [ROWS],
  )
  await cluster.primary.query(`vacuum analyze ${ITEMS_TABLE}`)
  await cluster.primary.query(`drop table if exists ${WRITES_TABLE}`)
  await cluster.primary.query(`create table ${WRITES_TABLE} (id serial primary key, tag text not null)`)
  const [{ lsn }] = (await cluster.primary.query<{ lsn: string }>(
    'select pg_current_wal_insert_lsn()::text as lsn',
  )) as [{ lsn: string }]
  const deadline = Date.now() + timeoutMillis
  for (const replica of cluster.replicas) {
    for (;;) {
      const [row] = await replica.query<{ caught: boolean }>(
        'select pg_last_wal_replay_lsn() >= $1::pg_lsn as caught',
        [lsn],
      )
      if (row?.caught) break
      if (Date.now() > deadline) throw new Error(`${replica.name} did not replay the bench table in time`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}
