import { Kysely, PostgresDialect } from 'kysely'
import { KyselyReplicationDialect } from 'kysely-replication'
import { RoundRobinReplicaStrategy } from 'kysely-replication/strategy/round-robin'
import pg from 'pg'
import type { ClusterAddresses, NodeAddress } from '../cluster-urls.js'
import type { BenchDatabase } from '../schema.js'
import { type Contender, POOL_SETTINGS } from './contender.js'

/** B: `kysely-replication` (npm), round-robin over the same replicas, as its README sets it up. */
export function kyselyReplication(addresses: ClusterAddresses): Contender {
  const dialect = (node: NodeAddress) =>
    new PostgresDialect({ pool: new pg.Pool({ connectionString: node.url, ...POOL_SETTINGS }) })
  const [first, ...rest] = addresses.replicas
  if (!first) throw new Error('kysely-replication needs at least one replica')
  const db = new Kysely<BenchDatabase>({
    dialect: new KyselyReplicationDialect({
      primaryDialect: dialect(addresses.primary),
      replicaDialects: [dialect(first), ...rest.map(dialect)],
      replicaStrategy: new RoundRobinReplicaStrategy({ onTransaction: 'error' }),
    }),
  })
  return {
    key: 'B',
    label: 'kysely-replication 0.3, round-robin',
    db,
    close: () => db.destroy(),
  }
}
