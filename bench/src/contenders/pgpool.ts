import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { ClusterAddresses } from '../cluster-urls.js'
import { freePortPair } from '../free-port.js'
import type { PgpoolAvailability } from '../pgpool/install-pgpool.js'
import { PgpoolProcess } from '../pgpool/pgpool-process.js'
import type { BenchDatabase } from '../schema.js'
import { type Contender, POOL_MAX, POOL_SETTINGS } from './contender.js'

/**
 * C: Kysely's `PostgresDialect` with one `pg.Pool` on pgpool-II, which runs as its
 * own process on loopback in streaming-replication mode with load balancing, the
 * primary at weight 0 and each replica at 1. pgpool picks a replica per session
 * (per pooled connection), not per statement.
 */
export async function pgpoolContender(
  addresses: ClusterAddresses,
  pgpool: Extract<PgpoolAvailability, { ok: true }>,
): Promise<Contender> {
  const server = await PgpoolProcess.start({
    binary: pgpool.binary,
    port: await freePortPair(),
    backends: [addresses.primary, ...addresses.replicas].map((node, i) => ({
      host: node.host,
      port: node.port,
      name: node.name,
      weight: i === 0 ? 0 : 1,
    })),
    user: addresses.user,
    password: addresses.password,
    // One child per client connection, with room for pgpool's own checks.
    children: POOL_MAX + 4,
  })
  const db = new Kysely<BenchDatabase>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ ...server.connection(addresses.user, addresses.password), ...POOL_SETTINGS }),
    }),
  })
  return {
    key: 'C',
    label: `pgpool-II ${pgpool.version}, load balancing per session`,
    db,
    close: async () => {
      try {
        await db.destroy()
      } finally {
        await server.stop()
      }
    },
  }
}
