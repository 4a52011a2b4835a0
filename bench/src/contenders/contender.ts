import type { Kysely } from 'kysely'
import type { BenchDatabase } from '../schema.js'

/**
 * The contenders, by the letters the issues use: A plain Kysely on the primary, B
 * kysely-replication, C pgpool-II, D Causeway, D0 Causeway with no replicas, Ds
 * Causeway with `consistency.scope: 'session'`, R "primary for 2 s after a write"
 * (Rails), Ac A plus a bare background token capture per write, Dm D with an
 * in-memory async statement mirror, Dd D with a durable one.
 */
export type ContenderKey = 'A' | 'Ac' | 'B' | 'C' | 'D' | 'D0' | 'Ds' | 'Dm' | 'Da' | 'Dp' | 'Dd' | 'R'

/**
 * One worker's read-your-writes session: where its writes go, where its next read
 * goes, and a hook called after each acknowledged write (for a policy that routes
 * by the time of the last write).
 */
export interface BenchSession {
  readonly writer: Kysely<BenchDatabase>
  reader(): Kysely<BenchDatabase>
  wrote(): void
}

/** One way of reaching the cluster, behind the same Kysely API. */
export interface Contender {
  readonly key: ContenderKey
  readonly label: string
  /** Every statement of a plain workload goes here (for R, its primary: R runs only in sessions). */
  readonly db: Kysely<BenchDatabase>
  /**
   * Runs `fn` in one session of the contender (Causeway: `cluster.session()`; R: a
   * last-write timestamp of its own). Without it, a session is `db` for everything.
   */
  session?<T>(fn: (session: BenchSession) => Promise<T>): Promise<T>
  /** Counters the contender keeps about itself (Causeway's fallbacks, say), for the JSON. */
  counters?(): Readonly<Record<string, number>>
  /** Destroys its pools (and stops any process it owns). */
  close(): Promise<void>
}

/** A session on one Kysely instance: every write and read goes to `db`. */
export function plainSession(db: Kysely<BenchDatabase>): BenchSession {
  return { writer: db, reader: () => db, wrote: () => {} }
}

/** Runs `fn` in a session of `contender`. */
export function inSession<T>(contender: Contender, fn: (session: BenchSession) => Promise<T>): Promise<T> {
  return contender.session ? contender.session(fn) : fn(plainSession(contender.db))
}

/** Connections per node, the same for every contender. */
export const POOL_MAX = 16

/**
 * `pg.Pool` settings shared by every contender. Idle connections are kept: the
 * contenders take turns, and a pool that closed its connections while another ran
 * would pay for reconnecting inside the next measurement.
 */
export const POOL_SETTINGS = { max: POOL_MAX, idleTimeoutMillis: 0 } as const
