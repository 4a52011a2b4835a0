import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { ClusterAddresses, NodeAddress } from '../cluster-urls.js'
import type { BenchDatabase } from '../schema.js'
import { type Contender, POOL_SETTINGS } from './contender.js'

/** Rails' default `delay` of its `DatabaseSelector`: reads go to the primary this long after a write. */
export const RAILS_DELAY_MILLIS = 2_000

/**
 * R: the "primary for N seconds after a write" policy, as Rails' automatic role
 * switching does it (`database_selector: { delay: 2.seconds }`): a session remembers
 * when it last wrote, and its reads go to the primary until `delay` has passed, then
 * round-robin over the replicas. Built here as a small router over plain
 * `PostgresDialect`s, one per node; each session keeps its own last-write time.
 * Only session workloads run it; `db` (the primary) serves the startup check.
 */
export function railsPolicy(addresses: ClusterAddresses, delayMillis = RAILS_DELAY_MILLIS): Contender {
  const kysely = (node: NodeAddress) =>
    new Kysely<BenchDatabase>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: node.url, ...POOL_SETTINGS }) }),
    })
  const primary = kysely(addresses.primary)
  const replicas = addresses.replicas.map(kysely)
  if (replicas.length === 0) throw new Error('the Rails policy needs at least one replica')
  let next = 0
  return {
    key: 'R',
    label: `primary for ${delayMillis / 1000} s after a write (Rails)`,
    db: primary,
    session: (fn) => {
      let lastWrite = Number.NEGATIVE_INFINITY
      return fn({
        writer: primary,
        reader: () =>
          performance.now() - lastWrite < delayMillis ? primary : replicas[next++ % replicas.length]!,
        wrote: () => {
          lastWrite = performance.now()
        },
      })
    },
    close: async () => {
      const results = await Promise.allSettled([primary, ...replicas].map((db) => db.destroy()))
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed) throw failed.reason
    },
  }
}
