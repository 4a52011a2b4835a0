import { Kysely, type KyselyPlugin, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { NodeAddress } from '../cluster-urls.js'
import type { BenchDatabase } from '../schema.js'
import { type Contender, POOL_SETTINGS } from './contender.js'

/** The token query Causeway sends (`SAMPLE_SQL` in packages/core/src/consistency/lsn-sampler.ts). */
const CAPTURE_SQL = `select pg_current_wal_insert_lsn()::text as lsn,
  ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::int as timeline`

/**
 * Ac: contender A plus the least a per-write token capture can cost: after every
 * insert, update or delete, the same query Causeway's capture sends, on one
 * `pg.Client` of its own, in the background and coalesced (one in flight, the next
 * shared by every write that returned meanwhile), fired from a Kysely plugin as the
 * write returns, where Causeway fires its own. Nothing is parsed or kept. Ac/A is
 * the machine's price of the extra round trip; D/Ac what Causeway adds to it.
 */
export function bareCapture(primary: NodeAddress): Contender {
  const client = new pg.Client({ connectionString: primary.url })
  let connected: Promise<void> | undefined
  let running: Promise<unknown> | undefined
  let next: Promise<unknown> | undefined
  const start = (): Promise<unknown> => {
    connected ??= client.connect().then(() => {})
    const query = connected.then(() => client.query(CAPTURE_SQL))
    running = query
    const clear = () => {
      if (running === query) running = undefined
    }
    query.then(clear, clear)
    return query
  }
  const capture = (): Promise<unknown> => {
    if (!running) return start()
    next ??= running
      .catch(() => undefined)
      .then(() => {
        next = undefined
        return start()
      })
    return next
  }
  const plugin: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      if (args.result.numAffectedRows !== undefined) capture().catch(() => {})
      return args.result
    },
  }
  const db = new Kysely<BenchDatabase>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: primary.url, ...POOL_SETTINGS }) }),
    plugins: [plugin],
  })
  return {
    key: 'Ac',
    label: 'A + a bare background capture per write',
    db,
    close: async () => {
      try {
        await db.destroy()
      } finally {
        await Promise.allSettled([running, next])
        if (connected) await client.end()
      }
    },
  }
}
