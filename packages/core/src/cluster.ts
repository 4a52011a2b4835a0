import type pg from 'pg'
import { classifySql } from './classify/classify-sql.js'
import { loadSqlParser } from './classify/sql-parser.js'
import { assembleCluster, type ClusterParts, closeCluster } from './cluster/cluster-parts.js'
import { addReplicaNodes, removeReplicaNode } from './cluster/membership.js'
import type { ClusterConfig } from './config/cluster-config.js'
import { replicaEntrySchema } from './config/config-schema.js'
import type { NodeConfig } from './config/node-config.js'
import { resolveConfig } from './config/resolve-config.js'
import { resolveSync } from './config/resolve-sync.js'
import { RoutedConnection } from './connection/routed-connection.js'
import type { SessionOptions } from './consistency/scope-context.js'
import { parseToken, serializeToken } from './consistency/token.js'
import { CausewayError, closedError } from './errors/causeway-error.js'
import type { ClusterEventName, ClusterListener } from './events/cluster-events.js'
import { promoteNode } from './failover/promote-node.js'
import { type CompareMirrorOptions, compareTables, type MirrorComparison } from './mirror/compare-mirror.js'
import { buildStatus } from './status/build-status.js'
import type { ClusterStatus } from './status/cluster-status.js'

/**
 * Runs one of Causeway's own statements on the current primary (waiting for one as
 * a write does), on the primary's side connection: not an app statement, so it is
 * not routed, traced, counted as served, or emitted as a `statement` event; it
 * counts in the node's `ownStatements`. For the layers above a cluster (the
 * multi-primary link monitor), not for apps.
 */
export async function ownPrimaryQuery<R extends pg.QueryResultRow>(
  cluster: Cluster,
  sql: string,
  parameters: unknown[] = [],
): Promise<R[]> {
  const node = await cluster[PARTS].primaries.primary()
  return node.side.run<R>(sql, parameters)
}

/** Where {@link ownPrimaryQuery} finds a cluster's parts; not exported from the package. */
const PARTS: unique symbol = Symbol('causeway.clusterParts')

/**
 * A PostgreSQL primary and its replicas, as one routed database. Made by
 * {@link createCluster}; `CausewayDialect` makes one for Kysely.
 *
 * @example
 * const cluster = createCluster({ primary: 'postgres://app@db1/app', replicas: ['postgres://app@db2/app'] })
 * await cluster.query('select * from users where id = $1', [42]) // a replica
 * await cluster.session(async () => {
 *   await cluster.query('insert into users (name) values ($1)', ['ada']) // the primary
 *   await cluster.query('select * from users')                          // a replica that has the insert, or the primary
 * })
 * await cluster.close()
 */
export class Cluster {
  readonly #parts: ClusterParts

  /** For {@link ownPrimaryQuery} only. */
  get [PARTS](): ClusterParts {
    return this.#parts
  }
  readonly #ready: Promise<void>
  #closing: Promise<void> | undefined

  /** Use {@link createCluster}. */
  constructor(config: ClusterConfig) {
    this.#parts = assembleCluster(resolveConfig(config))
    this.#parts.monitor.start()
    this.#parts.patroni?.start()
    this.#ready = loadSqlParser()
    // Raw SQL waits for the parser; an unhandled rejection here would crash the app.
    this.#ready.catch(() => {})
  }

  /**
   * Resolves once the SQL parser is loaded, every node has been probed once, and
   * (with `patroni`) Patroni has been asked once.
   */
  async ready(): Promise<void> {
    await Promise.all([this.#ready, this.#parts.monitor.probeAll(), this.#parts.patroni?.poll()])
  }

  /** A snapshot of every node and of the cluster's counters. */
  status(): ClusterStatus {
    const { nodes, topology, counters, config, mirrors } = this.#parts
    const status = buildStatus(nodes.all, topology, counters, config.failover, this.#parts.patroni)
    return mirrors ? { ...status, mirrors: mirrors.status() } : status
  }

  /**
   * Compares a statement mirror with the primary, table by table: row counts and
   * an md5 of the ordered rows. For verifying a migration: pause writes, wait until
   * the mirror's backlog is 0 (`status().mirrors`), then compare.
   *
   * @example
   * const { equal, tables } = await cluster.compareMirror('pg19', { tables: ['users', 'orders'] })
   */
  async compareMirror(name: string, options: CompareMirrorOptions = {}): Promise<MirrorComparison> {
    this.#assertOpen()
    const mirror = this.#parts.mirrors?.byName(name)
    if (!mirror) throw new CausewayError('UNKNOWN_NODE', `compareMirror: no mirror named "${name}"`)
    const primary = await this.#parts.primaries.primary()
    return compareTables(
      name,
      (sql, parameters) => primary.pool.query(sql, parameters),
      (sql, parameters) => mirror.query(sql, parameters),
      options,
    )
  }

  /** Probes every node now, and returns the resulting status. */
  async checkHealth(): Promise<ClusterStatus> {
    this.#assertOpen()
    await this.#parts.monitor.probeAll()
    return this.status()
  }

  /**
   * A logical connection that routes each statement. Release it when done. Drivers
   * (such as `@causeway/kysely`) use this; apps usually use `query()` or Kysely.
   */
  connect(): RoutedConnection {
    this.#assertOpen()
    return new RoutedConnection(this.#parts)
  }

  /**
   * Runs raw SQL where it belongs: a single plain read (by PostgreSQL's own
   * parser) on a replica, everything else on the primary.
   *
   * @example
   * const { rows } = await cluster.query('select * from users where id = $1', [42])
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    parameters: readonly unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    await this.#ready
    const connection = this.connect()
    try {
      return (await connection.execute({
        sql,
        parameters,
        intent: classifySql(sql).intent,
      })) as pg.QueryResult<R>
    } finally {
      connection.release()
    }
  }

  /**
   * Runs `fn` in a read-your-writes session (one HTTP request, one job): every read
   * inside sees every write made inside, and still goes to a replica that has
   * caught up. Pass `token` to continue from another process.
   */
  async session<T>(fn: () => T | Promise<T>, options: SessionOptions = {}): Promise<T> {
    this.#assertOpen()
    const token = options.token === undefined ? undefined : parseToken(options.token, this.#parts.secrets)
    const sync =
      options.sync === undefined || options.sync === false ? options.sync : resolveSync(options.sync)
    return this.#parts.scopes.session(fn, {
      ...(token ? { token } : {}),
      ...(sync === undefined ? {} : { sync }),
    })
  }

  /**
   * The current scope's token, as an opaque string to hand to another process (an
   * HTTP header, a cookie, a job payload); undefined before the first write. Waits
   * for a capture in flight.
   */
  async token(): Promise<string | undefined> {
    const scope = this.#parts.scopes.current().scope
    if (!scope) return undefined
    await scope.settle()
    if (scope.primaryOnly) {
      // The last write has no token (its capture failed, or its outcome is unknown).
      // One taken from the primary now covers it, if it committed there.
      const primary = await this.#parts.primaries.primary()
      await scope.capture(primary.sampler.sample())
      if (scope.primaryOnly) {
        throw new CausewayError(
          'NO_PRIMARY',
          `cannot take a token for this scope's last write from ${primary.name}`,
        )
      }
    }
    return scope.token === undefined ? undefined : serializeToken(scope.token, this.#parts.secrets)
  }

  /**
   * Whether `text` is a token this cluster accepts: well formed and, when
   * `consistency.tokenSecret` is set, signed with it. `sessionHandler` uses this
   * to answer a bad token with a 400.
   */
  isValidToken(text: string): boolean {
    try {
      parseToken(text, this.#parts.secrets)
      return true
    } catch {
      return false
    }
  }

  /**
   * Runs `fn` with every statement on the primary, reads included. Survives
   * Kysely's `withoutPlugins()`, so `Migrator` and introspection inside run on the
   * primary.
   */
  async onPrimary<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.#parts.scopes.onPrimary(fn)
  }

  /** Listens to an event; returns a function that stops listening. */
  on<E extends ClusterEventName>(event: E, listener: ClusterListener<E>): () => void {
    return this.#parts.events.on(event, listener)
  }

  /** Stops listening. */
  off<E extends ClusterEventName>(event: E, listener: ClusterListener<E>): void {
    this.#parts.events.off(event, listener)
  }

  /**
   * Promotes a replica to primary with `pg_promote()`, makes it the primary for
   * routing, and re-points the other replicas to it. For planned switchovers: stop
   * writes to the old primary first, or they are lost to the new timeline.
   */
  async promote(name: string): Promise<void> {
    this.#assertOpen()
    const { nodes, topology, monitor } = this.#parts
    const node = nodes.byName(name)
    if (!node) throw new CausewayError('UNKNOWN_NODE', `promote: no node named "${name}"`)
    if (!node.verified) {
      throw new CausewayError(
        'NODE_FENCED',
        `promote: ${name} is not verified as a server of this cluster (${node.fencedBecause ?? 'its system identifier is not known to match'})`,
        { node: name },
      )
    }
    await promoteNode(node, nodes.all, topology)
    await monitor.probeAll()
  }

  /**
   * Adds a replica to the running cluster; it takes reads once its first probe
   * passes. A connection string with several hosts adds one node per host (all or
   * none: a name already taken adds none).
   */
  async addReplica(config: NodeConfig): Promise<void> {
    this.#assertOpen()
    const parsed = replicaEntrySchema.safeParse(config)
    if (!parsed.success)
      throw new CausewayError('CONFIG_INVALID', `addReplica: ${parsed.error.issues[0]?.message}`)
    await addReplicaNodes(this.#parts, parsed.data, 'addReplica')
  }

  /**
   * Removes a replica: it takes no new statements at once; running ones finish
   * (drain) before its pool closes.
   */
  async removeReplica(name: string): Promise<void> {
    this.#assertOpen()
    await removeReplicaNode(this.#parts, name, 'removeReplica')
  }

  /** Stops every timer and closes every connection. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= closeCluster(this.#parts)
    return this.#closing
  }

  #assertOpen(): void {
    if (this.#parts.checkouts.closed) throw closedError()
  }
}

/**
 * Creates a {@link Cluster}: validates the config (a bad one throws a
 * `CONFIG_INVALID` error naming the field), opens a pool per node lazily, and starts
 * probing them.
 *
 * @example
 * const cluster = createCluster({
 *   primary: 'postgres://app@db1/app',
 *   replicas: ['postgres://app@db2/app', { connectionString: 'postgres://app@db3/app', name: 'db3', weight: 2 }],
 * })
 */
export function createCluster(config: ClusterConfig): Cluster {
  return new Cluster(config)
}

/**
 * Compares the statement mirror `name` with the primary: per table, row counts and
 * an md5 of the rows ordered by their text. See {@link Cluster.compareMirror}.
 *
 * @example
 * const report = await compareMirror(cluster, 'pg19')
 * if (!report.equal) console.table(report.tables.filter((t) => !t.equal))
 */
export function compareMirror(
  cluster: Cluster,
  name: string,
  options: CompareMirrorOptions = {},
): Promise<MirrorComparison> {
  return cluster.compareMirror(name, options)
}
