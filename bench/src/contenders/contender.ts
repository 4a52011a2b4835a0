import type { Kysely } from 'kysely'
import type { BenchDatabase } from '../schema.js'

/**
 * The contenders, by the letters the issue uses: A plain Kysely on the primary, B
 * kysely-replication, C pgpool-II, D Causeway, D0 Causeway with no replicas.
 */
export type ContenderKey = 'A' | 'B' | 'C' | 'D' | 'D0'

/** One way of reaching the cluster, behind the same Kysely API. */
export interface Contender {
  readonly key: ContenderKey
  readonly label: string
  readonly db: Kysely<BenchDatabase>
  /** Counters the contender keeps about itself (Causeway's fallbacks, say), for the JSON. */
  counters?(): Readonly<Record<string, number>>
  /** Destroys its pools (and stops any process it owns). */
  close(): Promise<void>
}

/** Connections per node, the same for every contender. */
export const POOL_MAX = 16

/**
 * `pg.Pool` settings shared by every contender. Idle connections are kept: the
 * contenders take turns, and a pool that closed its connections while another ran
 * would pay for reconnecting inside the next measurement.
 */
export const POOL_SETTINGS = { max: POOL_MAX, idleTimeoutMillis: 0 } as const
