import { AsyncLocalStorage } from 'node:async_hooks'
import type pg from 'pg'
import type { ClusterConfig, SyncOptions } from './config/cluster-config.js'
import type { ResolvedConfig, ResolvedSync } from './config/config-schema.js'
import type { NodeConfig } from './config/node-config.js'
import { nodeConfigSchema } from './config/node-config.js'
import { resolveConfig } from './config/resolve-config.js'
import type { Engine, EngineStats, ExecutionContext } from './connection/engine.js'
import { RoutedConnection } from './connection/routed-connection.js'
import { ConsistencyScope } from './consistency/consistency-scope.js'
import { mirror } from './consistency/mirror.js'
import { ReplayWaiter } from './consistency/replay-waiter.js'
import { resolveSync } from './consistency/resolve-sync.js'
import { type ConsistencyToken, parseToken, serializeToken, type TokenSecrets } from './consistency/token.js'
import { CausewayError, MirrorTimeoutError } from './errors/causeway-error.js'
import type { ClusterEventName, ClusterListener } from './events/cluster-events.js'
import { EventHub } from './events/event-hub.js'
import { AutoFailover } from './failover/auto-failover.js'
import { promoteNode } from './failover/promote-node.js'
import { HealthMonitor } from './health/health-monitor.js'
import { createBalancer } from './routing/balancers/create-balancer.js'
import { classifySql } from './routing/classify/classify-sql.js'
import { loadSqlParser } from './routing/classify/sql-parser.js'
import { Router } from './routing/router.js'
import { buildStatus } from './status/build-status.js'
import type { ClusterStatus } from './status/cluster-status.js'
import { createNode, type NodeMember } from './topology/create-node.js'
import type { DbNode } from './topology/db-node.js'
import { LagTracker } from './topology/lag-tracker.js'
import { Topology } from './topology/topology.js'
import { redact, registerSecret } from './util/redact.js'

/** Options of {@link Cluster.session}. */
export interface SessionOptions {
  /** Continue from a token another process handed over (`cluster.token()` there). */
  readonly token?: string
  /** Synchronous mirroring for the writes of this session, overriding the config. */
  readonly sync?: SyncOptions | false
}

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
  readonly #config: ResolvedConfig
  readonly #members: NodeMember[] = []
  readonly #events = new EventHub()
  readonly #lag = new LagTracker()
  readonly #topology: Topology
  readonly #router: Router
  readonly #monitor: HealthMonitor
  readonly #waiter: ReplayWaiter
  readonly #autoFailover: AutoFailover | undefined
  readonly #context = new AsyncLocalStorage<ExecutionContext>()
  readonly #processScope: ConsistencyScope | undefined
  readonly #defaultContext: ExecutionContext
  readonly #stats: EngineStats = {
    fallbacks: {
      'no-replica': 0,
      'all-replicas-unhealthy': 0,
      'all-replicas-lagging': 0,
      'not-caught-up': 0,
    },
    readRetries: 0,
    misclassifiedWrites: 0,
    staleTokens: 0,
    replayWaits: 0,
    replayWaitsSatisfied: 0,
    mirrorWaits: 0,
    mirrorTimeouts: 0,
  }
  readonly #engine: Engine
  readonly #ready: Promise<void>
  #closed = false
  #replicaCache: { primary: DbNode | undefined; version: number; nodes: readonly DbNode[] } | undefined
  #membersVersion = 0
  readonly #byNode = new Map<DbNode, NodeMember>()
  #closing: Promise<void> | undefined
  /** Pool checkouts still waiting for a connection, to fail when the cluster closes. */
  readonly #checkouts = new Set<(error: Error) => void>()
  readonly #secrets: TokenSecrets | undefined
  /** When a token of a newer timeline last made every node be probed, and that probe round. */
  #newerTokenRefreshAt = 0
  #newerTokenRefresh: Promise<void> | undefined

  /** Use {@link createCluster}. */
  constructor(config: ClusterConfig) {
    this.#config = resolveConfig(config)
    const secret = this.#config.consistency.tokenSecret
    this.#secrets = secret === undefined ? undefined : typeof secret === 'string' ? [secret] : [...secret]
    for (const one of this.#secrets ?? []) registerSecret(one)
    const names = new Set<string>()
    for (const [i, nodeConfig] of [this.#config.primary, ...this.#config.replicas].entries()) {
      const member = this.#createMember(nodeConfig as NodeConfig)
      if (names.has(member.node.name)) {
        void member.node.pool.end()
        for (const m of this.#members) void m.node.pool.end()
        const field = i === 0 ? 'primary' : `replicas[${i - 1}]`
        throw new CausewayError(
          'CONFIG_INVALID',
          `invalid Causeway config:\n  ${field}.name: "${member.node.name}" is used twice`,
        )
      }
      names.add(member.node.name)
      this.#members.push(member)
      this.#byNode.set(member.node, member)
    }
    const primary = this.#members[0]!.node
    this.#topology = new Topology(
      () => this.#nodes(),
      primary,
      this.#events,
      this.#lag,
      this.#config.failover !== 'off',
      this.#config.systemId,
    )
    this.#router = new Router(
      () => this.#replicaNodes(),
      this.#topology,
      createBalancer(this.#config.balancer),
    )
    this.#waiter = new ReplayWaiter(
      (node) => this.#member(node).prober.replayLsn(),
      this.#config.consistency.replayPollMillis,
    )
    this.#autoFailover =
      this.#config.failover === 'auto'
        ? new AutoFailover(
            this.#config,
            this.#topology,
            this.#events,
            () => this.#members,
            () => this.#monitor.probeAll(),
          )
        : undefined
    this.#monitor = new HealthMonitor(
      () => this.#members,
      this.#topology,
      this.#lag,
      this.#events,
      this.#config,
      (node) => this.#autoFailover?.check(node),
    )
    this.#processScope = this.#config.consistency.scope === 'process' ? new ConsistencyScope() : undefined
    this.#defaultContext = { scope: this.#processScope, onPrimary: false }
    this.#engine = this.#makeEngine()
    this.#monitor.start()
    this.#ready = loadSqlParser()
    // Raw SQL waits for the parser; an unhandled rejection here would crash the app.
    this.#ready.catch(() => {})
  }

  /** Resolves once the SQL parser is loaded and every node has been probed once. */
  async ready(): Promise<void> {
    await Promise.all([this.#ready, this.#monitor.probeAll()])
  }

  /** A snapshot of every node and of the cluster's counters. */
  status(): ClusterStatus {
    return buildStatus(
      this.#members.map((m) => m.node),
      this.#topology,
      this.#stats,
      this.#config.failover,
    )
  }

  /** Probes every node now, and returns the resulting status. */
  async checkHealth(): Promise<ClusterStatus> {
    this.#assertOpen()
    await this.#monitor.probeAll()
    return this.status()
  }

  /**
   * A logical connection that routes each statement. Release it when done. Drivers
   * (such as `@causeway/kysely`) use this; apps usually use `query()` or Kysely.
   */
  connect(): RoutedConnection {
    this.#assertOpen()
    return new RoutedConnection(this.#engine)
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
    const token = options.token === undefined ? undefined : parseToken(options.token, this.#secrets)
    const sync =
      options.sync === undefined ? undefined : options.sync === false ? false : resolveSync(options.sync)
    // A session in a session shares its past both ways; a top-level session starts
    // afresh and passes its writes on to the process scope.
    const outer = this.#context.getStore()
    const parent = outer?.scope ?? this.#processScope
    const scope = new ConsistencyScope({
      ...(token ? { token } : {}),
      ...(sync ? { sync } : {}),
      syncOff: sync === false,
      ...(parent
        ? { parent, inherit: outer?.scope !== undefined && outer.scope !== this.#processScope }
        : {}),
    })
    return this.#context.run({ scope, onPrimary: outer?.onPrimary ?? false }, fn)
  }

  /**
   * The current scope's token, as an opaque string to hand to another process (an
   * HTTP header, a cookie, a job payload); undefined before the first write. Waits
   * for a capture in flight.
   */
  async token(): Promise<string | undefined> {
    const scope = this.#engine.context().scope
    if (!scope) return undefined
    await scope.settle()
    if (scope.primaryOnly) {
      // The last write has no token (its capture failed, or its outcome is unknown).
      // One taken from the primary now covers it, if it committed there.
      const primary = await this.#primary()
      await scope.capture(this.#member(primary).sampler.sample())
      if (scope.primaryOnly) {
        throw new CausewayError(
          'NO_PRIMARY',
          `cannot take a token for this scope's last write from ${primary.name}`,
        )
      }
    }
    return scope.token === undefined ? undefined : serializeToken(scope.token, this.#secrets)
  }

  /**
   * Whether `text` is a token this cluster accepts: well formed and, when
   * `consistency.tokenSecret` is set, signed with it. `sessionHandler` uses this
   * to answer a bad token with a 400.
   */
  isValidToken(text: string): boolean {
    try {
      parseToken(text, this.#secrets)
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
    const parent = this.#context.getStore() ?? this.#defaultContext
    return this.#context.run({ scope: parent.scope, onPrimary: true }, fn)
  }

  /** Listens to an event; returns a function that stops listening. */
  on<E extends ClusterEventName>(event: E, listener: ClusterListener<E>): () => void {
    return this.#events.on(event, listener)
  }

  /** Stops listening. */
  off<E extends ClusterEventName>(event: E, listener: ClusterListener<E>): void {
    this.#events.off(event, listener)
  }

  /**
   * Promotes a replica to primary with `pg_promote()`, makes it the primary for
   * routing, and re-points the other replicas to it. For planned switchovers: stop
   * writes to the old primary first, or they are lost to the new timeline.
   */
  async promote(name: string): Promise<void> {
    this.#assertOpen()
    const member = this.#members.find(({ node }) => node.name === name)
    if (!member) throw new CausewayError('UNKNOWN_NODE', `promote: no node named "${name}"`)
    if (!member.node.verified) {
      throw new CausewayError(
        'NODE_FENCED',
        `promote: ${name} is not verified as a server of this cluster (${member.node.fencedBecause ?? 'its system identifier is not known to match'})`,
        { node: name },
      )
    }
    await promoteNode(member, this.#members, this.#topology)
    await this.#monitor.probeAll()
  }

  /** Adds a replica to the running cluster; it takes reads once its first probe passes. */
  async addReplica(config: NodeConfig): Promise<void> {
    this.#assertOpen()
    const parsed = nodeConfigSchema.safeParse(config)
    if (!parsed.success)
      throw new CausewayError('CONFIG_INVALID', `addReplica: ${parsed.error.issues[0]?.message}`)
    const member = this.#createMember(config)
    if (this.#members.some(({ node }) => node.name === member.node.name)) {
      await member.node.pool.end()
      throw new CausewayError('CONFIG_INVALID', `addReplica: a node named "${member.node.name}" exists`)
    }
    this.#members.push(member)
    this.#byNode.set(member.node, member)
    this.#membersVersion++
    this.#events.emit('replica-added', { node: member.node.name })
    await this.#monitor.probe(member)
  }

  /**
   * Removes a replica: it takes no new statements at once; running ones finish
   * (drain) before its pool closes.
   */
  async removeReplica(name: string): Promise<void> {
    this.#assertOpen()
    const index = this.#members.findIndex(({ node }) => node.name === name)
    const member = this.#members[index]
    if (!member) throw new CausewayError('UNKNOWN_NODE', `removeReplica: no node named "${name}"`)
    if (member.node === this.#topology.lastPrimary)
      throw new CausewayError('UNKNOWN_NODE', `removeReplica: "${name}" is the primary`)
    member.node.draining = true
    this.#members.splice(index, 1)
    this.#byNode.delete(member.node)
    this.#membersVersion++
    this.#monitor.unwatch(member.node)
    // pool.end() waits for checked-out clients to come back: that is the drain.
    await Promise.all([member.node.pool.end(), member.prober.close(), member.capturer.close()])
    this.#events.emit('replica-removed', { node: name })
  }

  /** Stops every timer and closes every connection. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    // Statements still waiting for a pooled connection were never sent: they fail
    // now, as CLOSED, rather than hang (pg-pool's end() drops its queue unsettled).
    const checkouts = [...this.#checkouts]
    this.#checkouts.clear()
    for (const cancel of checkouts) cancel(this.#closedError())
    // Writes waiting for a primary stop waiting (and fail as CLOSED).
    this.#topology.wake()
    this.#monitor.stop()
    this.#waiter.stop()
    // A promotion already sent finishes (its outcome is reported); none starts.
    await this.#autoFailover?.stop()
    const results = await Promise.allSettled(
      this.#members.flatMap(({ node, prober, capturer }) => [
        node.pool.end(),
        prober.close(),
        capturer.close(),
      ]),
    )
    this.#events.clear()
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length > 0) {
      throw new AggregateError(
        failed.map((r) => r.reason),
        'some connections did not close cleanly',
      )
    }
  }

  #createMember(config: NodeConfig): NodeMember {
    return createNode(
      config,
      this.#config,
      (node, inHotStandby) => {
        // A primary whose connection says "hot standby" (or the reverse) changed role.
        if ((node.role === 'primary') === inHotStandby) void this.#monitor.probeAll()
      },
      (node, error) => {
        if (!this.#closed) this.#monitor.reportFailure(node, error)
      },
    )
  }

  #makeEngine(): Engine {
    const cluster = this
    return {
      config: this.#config,
      topology: this.#topology,
      router: this.#router,
      events: this.#events,
      waiter: this.#waiter,
      stats: this.#stats,
      get closed() {
        return cluster.#closed
      },
      watchCheckout: (cancel) => {
        if (this.#closed) {
          cancel(this.#closedError())
          return () => {}
        }
        this.#checkouts.add(cancel)
        return () => this.#checkouts.delete(cancel)
      },
      context: () => this.#context.getStore() ?? this.#defaultContext,
      primary: (avoid) => this.#primary(avoid),
      reportFailure: (node, error) => this.#monitor.reportFailure(node, error),
      refreshTopology: () => this.#monitor.probeAll(),
      refreshForNewerToken: () => {
        // A token of a timeline this process has not seen: another process may have
        // seen a failover first, so look again, but at most once per probe
        // interval: tokens come from clients, and must not make a probe storm.
        const now = Date.now()
        if (this.#newerTokenRefresh && now - this.#newerTokenRefreshAt < this.#config.health.intervalMillis) {
          // Callers within the interval share the refresh (and wait for it if it runs).
          return this.#newerTokenRefresh
        }
        this.#newerTokenRefreshAt = now
        this.#newerTokenRefresh = this.#monitor.probeAll()
        return this.#newerTokenRefresh
      },
      recovery: (node, pid) => async () => {
        const primary = this.#topology.primary
        if (!primary) return undefined
        const member = this.#member(primary)
        if (primary === node && pid !== undefined) {
          // The write's session may still be running its statement (a broken network
          // is noticed there only when it next sends): while it is, it may yet commit.
          // An idle one, even in a transaction, will never get the COMMIT it needs.
          const alive = await member.capturer.run(
            `select 1 from pg_stat_activity where pid = $1 and state in ('active', 'fastpath function call')`,
            [pid],
          )
          if (alive.length > 0) return undefined
        }
        return member.sampler.sample()
      },
      samplePrimary: async () => this.#member(await this.#primary()).sampler.sample(),
      captureWrite: (node, scope) => {
        const capture = this.#member(node).sampler.sample()
        if (scope) void scope.capture(capture)
        // Unobserved when no one mirrors: a failure is the scope's to handle.
        capture.catch(() => {})
        return capture
      },
      deferCapture: (node, scope) => scope.captureLater(this.#member(node).sampler),
      mirrors: (scope) => this.#syncFor(scope) !== undefined,
      mirrorWrite: (scope, capture) => this.#mirrorWrite(scope, capture),
      control: async (node, sql, parameters) => {
        await this.#member(node).prober.run(sql, [...parameters])
      },
    }
  }

  /**
   * The primary; during a failover, waits up to `writeWaitMillis` for one. `avoid`
   * is a primary that just failed to connect: it counts again only once healthy.
   */
  async #primary(avoid?: DbNode): Promise<DbNode> {
    const usable = () => {
      const primary = this.#topology.primary
      return primary && (primary !== avoid || primary.breaker.state === 'healthy') ? primary : undefined
    }
    const deadline = Date.now() + this.#config.writeWaitMillis
    let primary = usable()
    while (!primary && !this.#closed && Date.now() < deadline) {
      // A write wants a primary: look for one now (the old one back, or another
      // promoted), not at the next scheduled probe. Not while a failover decides.
      if (!this.#topology.demoting) this.#monitor.seekPrimary()
      await this.#topology.nextEvaluation(Math.min(deadline - Date.now(), 25))
      primary = usable()
    }
    if (primary) return primary
    if (this.#closed) throw this.#closedError()
    if (!this.#topology.demoting) this.#monitor.seekPrimary()
    const last = this.#topology.lastPrimary
    throw new CausewayError(
      'NO_PRIMARY',
      `no primary is available${last ? ` (${last.name} is ${last.state}${last.lastError ? `: ${last.lastError}` : ''})` : ''}` +
        (this.#config.writeWaitMillis > 0 ? `; waited ${this.#config.writeWaitMillis} ms` : ''),
      { node: last?.name },
    )
  }

  /** The client-side mirroring that applies to a scope's writes, if any. */
  #syncFor(scope: ConsistencyScope | undefined): ResolvedSync | undefined {
    const sync = scope?.syncOff ? undefined : (scope?.sync ?? this.#config.sync)
    return sync && sync.method === 'client' ? sync : undefined
  }

  async #mirrorWrite(scope: ConsistencyScope | undefined, capture: Promise<ConsistencyToken>): Promise<void> {
    const sync = this.#syncFor(scope)
    if (!sync) return
    this.#stats.mirrorWaits++
    let token: ConsistencyToken
    try {
      // This write's own capture: the scope's token could be older if it failed.
      token = await capture
    } catch (error) {
      this.#stats.mirrorTimeouts++
      throw new MirrorTimeoutError(
        `the write committed on the primary, but its position could not be read to confirm mirroring: ${redact(String((error as Error).message))}`,
        [],
        sync.replicas === 'all' ? this.#replicaNodes().length : sync.replicas,
      )
    }
    const result = await mirror(token, this.#replicaNodes(), sync, this.#waiter, this.#events).catch(
      (error) => {
        this.#stats.mirrorTimeouts++
        throw error
      },
    )
    if (result.timedOut) this.#stats.mirrorTimeouts++
  }

  #member(node: DbNode): NodeMember {
    const member = this.#byNode.get(node)
    if (!member) throw new CausewayError('UNKNOWN_NODE', `node ${node.name} was removed`)
    return member
  }

  #nodes(): DbNode[] {
    return this.#members.map((m) => m.node)
  }

  /** Every node but the primary. Runs on every read, so it is rebuilt only when membership or the primary changes. */
  #replicaNodes(): readonly DbNode[] {
    const primary = this.#topology.lastPrimary
    const cache = this.#replicaCache
    if (cache && cache.primary === primary && cache.version === this.#membersVersion) return cache.nodes
    const nodes: DbNode[] = []
    for (const { node } of this.#members) if (node !== primary) nodes.push(node)
    this.#replicaCache = { primary, version: this.#membersVersion, nodes }
    return nodes
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closedError()
  }

  #closedError(): CausewayError {
    return new CausewayError('CLOSED', 'the cluster is closed; the statement was not sent')
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
