import { Cluster, type ClusterConfig, type CursorConstructor, createCluster } from '@causeway/core'
import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
} from 'kysely'
import { CausewayDriver } from './causeway-driver.js'
import { ClusterSource } from './cluster-source.js'

/** Options of {@link CausewayDialect} besides the cluster config. */
export interface CausewayDialectOptions {
  /** `pg-cursor`'s `Cursor`, to make `.stream()` work, as with `PostgresDialect`. */
  readonly cursor?: CursorConstructor
}

/**
 * The config of {@link CausewayDialect}: a cluster config, a cluster made elsewhere,
 * or a function that makes one.
 *
 * - A config or a function: the dialect owns the cluster. It is shared by every
 *   live Kysely instance of the dialect and closed by the last one's `destroy()`;
 *   a Kysely instance created after that gets a new cluster (from the config, or
 *   by calling the function again), so the dialect can be reused. Listeners added
 *   with `dialect.cluster.on()` belong to one cluster: add them in the function to
 *   keep them on every cluster.
 * - `{ cluster }`: the app owns the cluster and closes it; `db.destroy()` leaves it
 *   open, so several dialects or Kysely instances can share it.
 */
export type CausewayDialectConfig = (ClusterConfig | { readonly cluster: Cluster | (() => Cluster) }) &
  CausewayDialectOptions

/**
 * A Kysely dialect that splits queries between a PostgreSQL primary and its
 * replicas: swap it for `PostgresDialect` and change nothing else. Reads go to a
 * healthy replica that has replayed the caller's own writes; writes, transactions
 * and anything unsure go to the primary.
 *
 * @example
 * import { Kysely } from 'kysely'
 * import { CausewayDialect, onPrimary } from '@causeway/kysely'
 *
 * const dialect = new CausewayDialect({
 *   primary: 'postgres://app@db1/app',
 *   replicas: ['postgres://app@db2/app', { connectionString: 'postgres://app@db3/app', name: 'db3', weight: 2 }],
 * })
 * const db = new Kysely<DB>({ dialect })
 * await db.selectFrom('users').selectAll().execute()                        // a replica
 * await db.insertInto('users').values({ name: 'ada' }).execute()           // the primary
 * await db.selectFrom('users').selectAll().withPlugin(onPrimary).execute()  // forced to the primary
 * dialect.cluster.status()                                                  // nodes, lag, counters
 * await db.destroy()                                                        // closes the cluster
 *
 * @example
 * // The app owns a cluster: db.destroy() leaves it open.
 * const cluster = createCluster({ primary: 'postgres://app@db1/app', replicas: ['postgres://app@db2/app'] })
 * const db = new Kysely<DB>({ dialect: new CausewayDialect({ cluster }) })
 * await db.destroy()
 * await cluster.close()
 */
export class CausewayDialect implements Dialect {
  readonly #source: ClusterSource
  readonly #cursor: CursorConstructor | undefined

  constructor(config: CausewayDialectConfig) {
    const { cursor, ...rest } = config as CausewayDialectConfig & { cluster?: unknown }
    this.#cursor = cursor
    const given = rest.cluster
    this.#source = new ClusterSource(
      given instanceof Cluster || typeof given === 'function'
        ? (given as Cluster | (() => Cluster))
        : () => createCluster(rest as ClusterConfig),
    )
  }

  /**
   * The `@causeway/core` cluster behind the dialect: status, sessions, events,
   * topology. The same object for as long as any Kysely instance of the dialect is
   * live; a new one once a dialect that owns its cluster is reused after all of them
   * were destroyed (see {@link CausewayDialectConfig}).
   */
  get cluster(): Cluster {
    return this.#source.current
  }

  createDriver(): Driver {
    this.#source.renew()
    return new CausewayDriver(this.#source, this.#cursor)
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}
