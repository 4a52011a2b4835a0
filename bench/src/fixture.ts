import type { TestCluster } from '@causeway/testing'
import { ITEMS_TABLE } from './schema.js'

/** Rows in the bench table: small enough to stay in `shared_buffers`, large enough to spread ids. */
export const ROWS = 10_000

/**
 * Creates and fills the bench table on the primary, then waits until every replica
 * has replayed it, so that no contender's first reads find an empty replica.
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
