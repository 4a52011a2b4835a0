import { Kysely } from 'kysely'
import type { ClusterAddresses } from '../cluster-urls.js'
import type { BenchDatabase } from '../schema.js'
import type { CausewayModule } from './causeway-module.js'
import { type Contender, POOL_SETTINGS, plainSession } from './contender.js'

/** Which Causeway contender: defaults, no replicas, or no process-wide read-your-writes. */
export type CausewayVariant = 'D' | 'D0' | 'Ds' | 'Dm' | 'Da' | 'Dp' | 'Dd'

const LABELS: Record<CausewayVariant, string> = {
  D: 'Causeway, defaults',
  D0: 'Causeway, replicas: [] (all on the primary)',
  Ds: "Causeway, consistency.scope: 'session'",
  Dm: 'Causeway, defaults, plus an async in-memory statement mirror',
  Da: "Causeway, defaults, plus an async in-memory mirror in order: 'acknowledgement'",
  Dp: 'Causeway, defaults, plus an in-memory mirror that never replays (the commit-order cost alone)',
  Dd: 'Causeway, defaults, plus a durable statement mirror (outbox on the primary)',
}

/**
 * Dm, Dd: D plus an in-memory or a durable statement mirror; Da: Dm in
 * acknowledgement order (no commit positions); Dp: D plus an in-memory mirror that
 * never replays (the commit-order cost alone).
 * D: Causeway with its defaults (least-busy balancing, process-wide read-your-writes,
 * health checks), and the bench's pool size. D0: `replicas: []`, everything on the
 * primary, which isolates Causeway's per-query cost against contender A on the same
 * node. Ds: `consistency: { scope: 'session' }`, so that a write outside a session
 * captures no token (the control for the cost of capture). A session is
 * `cluster.session()`.
 */
export function causeway(
  { CausewayDialect }: CausewayModule,
  addresses: ClusterAddresses,
  variant: CausewayVariant = 'D',
): Contender {
  const node = ({ url, name }: { url: string; name: string }) => ({ connectionString: url, name })
  const dialect = new CausewayDialect({
    primary: node(addresses.primary),
    replicas: variant === 'D0' ? [] : addresses.replicas.map(node),
    pool: POOL_SETTINGS,
    ...(variant === 'Ds' ? { consistency: { scope: 'session' as const } } : {}),
    ...(variant === 'Dm' || variant === 'Dd'
      ? { mirrors: [{ url: addresses.mirror!.url, name: 'mirror', durable: variant === 'Dd' }] }
      : {}),
    ...(variant === 'Da'
      ? { mirrors: [{ url: addresses.mirror!.url, name: 'mirror', order: 'acknowledgement' as const }] }
      : {}),
    // Every write reads its commit position and is handed over, but the mirror is
    // out of sync from the second write on (unreachable, backlog of 1): what
    // ordering costs the write path, without the replay beside it.
    ...(variant === 'Dp'
      ? {
          mirrors: [
            { url: 'postgres://nobody@127.0.0.1:9/none', name: 'dropped', backlog: { maxStatements: 1 } },
          ],
        }
      : {}),
  })
  const db = new Kysely<BenchDatabase>({ dialect })
  return {
    key: variant,
    label: LABELS[variant],
    db,
    session: (fn) => dialect.cluster.session(() => fn(plainSession(db))),
    counters: () => {
      const status = dialect.cluster.status()
      return {
        ...Object.fromEntries(status.nodes.map((n) => [`served.${n.name}`, n.served])),
        // Read at the start and end of each turn: statements Causeway sent on its own
        // (probes, captures, polls), and reads that carried a freshness check.
        ...Object.fromEntries(status.nodes.map((n) => [`ownStatements.${n.name}`, n.ownStatements])),
        ...Object.fromEntries(status.nodes.map((n) => [`freshnessChecks.${n.name}`, n.freshnessChecks])),
        ...Object.fromEntries(status.nodes.map((n) => [`freshnessMisses.${n.name}`, n.freshnessMisses])),
        ...Object.fromEntries(Object.entries(status.fallbacks).map(([k, v]) => [`fallback.${k}`, v])),
        replayWaits: status.replayWaits,
        replayWaitsSatisfied: status.replayWaitsSatisfied,
        readRetries: status.readRetries,
      }
    },
    close: () => db.destroy(),
  }
}
