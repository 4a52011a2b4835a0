import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { NodeAddress } from '../cluster-urls.js'
import type { BenchDatabase } from '../schema.js'
import { type Contender, POOL_SETTINGS } from './contender.js'

/** A: Kysely's own `PostgresDialect` with one `pg.Pool` on the primary. The baseline. */
export function plainKysely(primary: NodeAddress): Contender {
  const db = new Kysely<BenchDatabase>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: primary.url, ...POOL_SETTINGS }) }),
  })
  return {
    key: 'A',
    label: 'Kysely PostgresDialect, primary only',
    db,
    close: () => db.destroy(),
  }
}
