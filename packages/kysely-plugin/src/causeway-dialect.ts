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

/** Options of {@link CausewayDialect} besides the cluster config. */
export interface CausewayDialectOptions {
  /** `pg-cursor`'s `Cursor`, to make `.stream()` work, as with `PostgresDialect`. */
  readonly cursor?: CursorConstructor
}

/** The config of {@link CausewayDialect}: a cluster config, or a cluster made elsewhere. */
export type CausewayDialectConfig = (ClusterConfig | { readonly cluster: Cluster }) & CausewayDialectOptions

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
 */
export class CausewayDialect implements Dialect {
  /** The `@causeway/core` cluster behind the dialect: status, sessions, events, topology. */
  readonly cluster: Cluster
  readonly #ownsCluster: boolean
  readonly #cursor: CursorConstructor | undefined

  constructor(config: CausewayDialectConfig) {
    const { cursor, ...rest } = config as CausewayDialectConfig & { cluster?: Cluster }
    this.#cursor = cursor
    if ('cluster' in rest && rest.cluster instanceof Cluster) {
      this.cluster = rest.cluster
      this.#ownsCluster = false
    } else {
      this.cluster = createCluster(rest as ClusterConfig)
      this.#ownsCluster = true
    }
  }

  createDriver(): Driver {
    return new CausewayDriver(this.cluster, this.#ownsCluster, this.#cursor)
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
