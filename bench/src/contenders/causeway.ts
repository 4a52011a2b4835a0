import { Kysely } from 'kysely'
import type { ClusterAddresses } from '../cluster-urls.js'
import type { BenchDatabase } from '../schema.js'
import type { CausewayModule } from './causeway-module.js'
import { type Contender, POOL_SETTINGS } from './contender.js'

/**
 * D: Causeway with its defaults (least-busy balancing, process-wide read-your-writes,
 * health checks), and the bench's pool size. With `replicasOff`, D0: everything on
 * the primary, which isolates Causeway's per-query cost against contender A on the
 * same node.
 */
export function causeway(
  { CausewayDialect }: CausewayModule,
  addresses: ClusterAddresses,
  options: { replicasOff?: boolean } = {},
): Contender {
  const node = ({ url, name }: { url: string; name: string }) => ({ connectionString: url, name })
  const dialect = new CausewayDialect({
    primary: node(addresses.primary),
    replicas: options.replicasOff ? [] : addresses.replicas.map(node),
    pool: POOL_SETTINGS,
  })
  const db = new Kysely<BenchDatabase>({ dialect })
  return {
    key: options.replicasOff ? 'D0' : 'D',
    label: options.replicasOff ? 'Causeway, replicas: [] (all on the primary)' : 'Causeway, defaults',
    db,
    counters: () => {
      const status = dialect.cluster.status()
      return {
        ...Object.fromEntries(status.nodes.map((n) => [`served.${n.name}`, n.served])),
        ...Object.fromEntries(Object.entries(status.fallbacks).map(([k, v]) => [`fallback.${k}`, v])),
        replayWaits: status.replayWaits,
        replayWaitsSatisfied: status.replayWaitsSatisfied,
        readRetries: status.readRetries,
      }
    },
    close: () => db.destroy(),
  }
}
