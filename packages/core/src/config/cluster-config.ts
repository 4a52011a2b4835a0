import type { PgDriver } from '../driver/pg-driver.js'
import type { BalancerFunction, BalancerName } from '../model/balancer.js'
import type { FailoverLock } from '../model/failover-lock.js'
import type { NodeConfig } from './node-config.js'

/**
 * Synchronous mirroring: a write returns only once `replicas` replicas have applied
 * it, so that a read anywhere sees it at once.
 */
export interface SyncOptions {
  /** How many replicas must have applied the write: `'all'` (default) or a number. */
  readonly replicas?: 'all' | number
  /** How long to wait. Default 1,000 ms. */
  readonly timeoutMillis?: number
  /** @deprecated Use `timeoutMillis`; this older name still works. */
  readonly timeoutMs?: number
  /**
   * On timeout: `'error'` (default) throws a `MirrorTimeoutError`, which says the
   * write committed on the primary but is not mirrored yet; `'continue'` returns
   * normally and emits `mirror-timeout`.
   */
  readonly onTimeout?: 'error' | 'continue'
  /**
   * `'client'` (default) waits by polling the replicas' replay positions and works
   * on any cluster. `'server'` makes the primary wait (`synchronous_commit =
   * remote_apply`); it needs `synchronous_standby_names` on the primary, and counts
   * what that setting names, not `replicas`. Each node's sessions are checked to run
   * with `remote_apply` (asked for by the `options` startup parameter, or the role's
   * own default behind a pooler such as PgBouncer, which refuses that parameter);
   * if they do not, statements fail with `CONFIG_INVALID`, saying what to configure.
   */
  readonly method?: 'client' | 'server'
}

/** The configuration of a {@link Cluster}. Only `primary` is required. */
export interface ClusterConfig {
  /**
   * The primary: a connection string (a `postgres://` URL or libpq key/value pairs),
   * or `pg` pool options plus an optional `name`.
   *
   * A string with several hosts lists the primary's candidates, one node each: the
   * writable one becomes the primary, the others serve reads while they are
   * standbys. It requires `systemId` (which candidate answers first must not decide
   * what is trusted) and a `failover` other than `'off'`; its
   * `target_session_attrs`, if any, is `read-write`, `primary` or `any`.
   *
   * @example
   * ```ts
   * createCluster({
   *   primary: 'postgres://app:pw@h1:5432,h2:5432/app?target_session_attrs=read-write',
   *   systemId: '7412345678901234567',
   * })
   * ```
   */
  readonly primary: NodeConfig
  /**
   * The replicas, as connection strings or `pg` pool options plus `name` and
   * `weight`. A string with several hosts is one replica node per host; its
   * `target_session_attrs`, if any, is `standby`, `prefer-standby`, `read-only` or
   * `any`. Default `[]`: all on the primary.
   */
  readonly replicas?: readonly NodeConfig[]
  /** Pool settings for every node; a node's own options win. */
  readonly pool?: {
    /** Connections per node. Default 10. */
    readonly max?: number
    /** Default 10,000 ms. */
    readonly idleTimeoutMillis?: number
    /** Bound on opening a connection. Default 5,000 ms (pg's own default waits forever). */
    readonly connectionTimeoutMillis?: number
    readonly maxLifetimeSeconds?: number
  }
  /**
   * How a read picks among the eligible replicas: `'least-busy'` (default: fewest
   * queries in flight per unit of weight), `'round-robin'`, `'random'`, `'fastest'`
   * (lowest latency EWMA) or a function. Ties are broken in rotation.
   */
  readonly balancer?: BalancerName | BalancerFunction
  /** Replicas further behind than this are skipped until they catch up. Default: no bound. */
  readonly maxLag?: {
    readonly bytes?: number
    readonly millis?: number
    /** @deprecated Use `millis`; this older name still works. */
    readonly ms?: number
  }
  /** Read-your-writes. */
  readonly consistency?: {
    /**
     * Where a write's token is kept outside `cluster.session()`: `'process'`
     * (default) keeps one process-wide token, so every read sees every earlier write
     * of the process; `'session'` keeps tokens only inside sessions.
     */
    readonly scope?: 'process' | 'session'
    /**
     * When a write's token is captured: `'eager'` (default) at once in the
     * background, on a side connection (one small query serves every write
     * acknowledged before it was sent), so that a read soon after the write finds
     * its token and may go to a replica; `'lazy'` when the scope next needs it (a
     * read, `token()`): no capture for writes nothing reads back, but the first
     * read after a write then goes to the primary.
     */
    readonly capture?: 'lazy' | 'eager'
    /**
     * Reads no longer wait for replicas: each carries its own proof of freshness.
     * `0` sends a read whose token no replica is known to have straight to the
     * primary; any other value (default 50) lets such a replica be tried.
     */
    readonly maxWaitMillis?: number
    /** While synchronous mirroring (`sync`) waits, replica positions are re-read this often. Default 5 ms. */
    readonly replayPollMillis?: number
    /**
     * Whether a replay position proven on one connection serves later reads on any
     * connection to the same server (default `true`), so that most reads need no
     * check of their own. Set `false` behind a pooler that may send two statements
     * of one client connection to different servers (PgBouncer transaction pooling
     * over several hosts, pgpool-II load balancing): every read with a token then
     * carries its own check. A balancer per connection (HAProxy, DNS round robin, a
     * cloud reader endpoint) needs nothing.
     */
    readonly reuseProofs?: boolean
    /**
     * Signs the tokens `token()` hands out (HMAC-SHA256), and refuses tokens that
     * are unsigned or altered (`TOKEN_INVALID`; `sessionHandler` answers 400). A
     * token comes back from clients, so without a secret a client can send any
     * position; it then costs at most a read on the primary, never an error. At
     * least 16 characters; a list rotates secrets: the first signs, all verify.
     * Every process that hands tokens to another needs the same secret.
     */
    readonly tokenSecret?: string | readonly string[]
  }
  /** Synchronous mirroring for every write. Default: off (asynchronous). */
  readonly sync?: SyncOptions
  /** Health checks: a circuit breaker per node. */
  readonly health?: {
    /** Probe interval. Default 500 ms. */
    readonly intervalMillis?: number
    /** A probe slower than this fails. Default 1,000 ms. */
    readonly timeoutMillis?: number
    /** Failures in a row before a node is down (it is suspect after one). Default 3. */
    readonly downAfter?: number
    /** Successes in a row before a down node is healthy again. Default 2. */
    readonly upAfter?: number
    /** The longest probe backoff of a down node. Default 5,000 ms. */
    readonly maxBackoffMillis?: number
  }
  /**
   * The cluster's system identifier (`select system_identifier from
   * pg_control_system()`), as a decimal string. Nodes are trusted only once their
   * identifier matches the cluster's; without this setting the cluster's is the
   * configured primary's, so while that primary has never answered no other node
   * gets a statement. Set it to start serving from the replicas (and, in `follow`
   * mode, from a new primary) even when the configured primary is down at start.
   * Required when `primary` lists several hosts.
   */
  readonly systemId?: string
  /**
   * `'follow'` (default): when another node becomes the writable primary, follow it.
   * `'auto'`: promote the most advanced healthy replica when the primary is down;
   * it requires `autoFailover.lock` (shared by every app process) or
   * `autoFailover.singleProcess: true`. `'off'`: never change primary.
   */
  readonly failover?: 'follow' | 'auto' | 'off'
  /** Settings of `failover: 'auto'`. */
  readonly autoFailover?: {
    /** How long the primary must be down before a promotion. Default 1,000 ms. */
    readonly primaryDownMillis?: number
    /**
     * Held while promoting, so that only one process promotes: a lock every app
     * process shares, such as `EtcdFailoverLock` of `@causeway/etcd`. Without it,
     * `singleProcess` must be true.
     */
    readonly lock?: FailoverLock
    /**
     * Says that this is the only process running `failover: 'auto'` on this cluster
     * (one app instance, or a sidecar), so a lock within the process is enough.
     * Default false: `auto` without `lock` is refused, since two processes could
     * each promote a different replica and split the cluster.
     */
    readonly singleProcess?: boolean
  }
  /**
   * While there is no primary, how long a write waits for one before it fails
   * with `NO_PRIMARY`. Default 2,000 ms: enough to ride through a fast server restart
   * and an `auto` failover at default settings (1.1 s from a crash
   * to the first write), short enough that a request still fails well inside a
   * client's timeout. An outside manager's failover (Patroni: tens of seconds) is
   * longer: raise it if your writes can wait that long, or set 0 to fail at once.
   */
  readonly writeWaitMillis?: number
  /**
   * Follow a Patroni cluster through its REST API, beside the probes (see the
   * README's "Running under Patroni"). Causeway polls `GET /cluster` and:
   * - writes only to a node that its probe shows writable *and* that holds
   *   Patroni's leader key; a writable node Patroni does not name is fenced, and
   *   while Patroni names no leader (a failover under way), writes wait;
   * - probes every node at once when Patroni names a new leader;
   * - shows each member's Patroni role, state, timeline and lag in `status()`, and
   *   emits `topology-disagreement` when Patroni and a server disagree for two polls;
   * - with `discover`, adds the members it lists as replicas (and removes the ones
   *   it added when Patroni drops them).
   *
   * When no REST API answers, the probes decide alone (`patroni-unreachable`).
   * Requires `failover: 'follow'`. Nodes are matched to members by name, else by
   * `host:port` as Patroni's `connect_address` gives it.
   */
  readonly patroni?: PatroniConfig
  /**
   * The app's own `pg` module, used for every pool and connection Causeway opens,
   * as Kysely's `PostgresDialect` uses the app's own `Pool`. Default: the `pg` that
   * `@causeway/core` resolves as its peer dependency, which is the app's when the
   * package manager installs one copy.
   *
   * Pass it when a second copy of `pg` may be installed (a version outside the
   * peer range, a bundler, a monorepo with several): a second copy has its own
   * `pg.types`, so the app's `pg.types.setTypeParser(...)` would not apply to
   * Causeway's results, and its own `DatabaseError`, so errors would not be
   * `instanceof` the app's `pg.DatabaseError`. Anything with pg's `Pool` and
   * `Client` classes fits, such as subclasses that instrument them. A node's own
   * `types` option still applies to its connections.
   *
   * @example
   * ```ts
   * import pg from 'pg'
   * pg.types.setTypeParser(20, Number) // int8 as a number
   * const cluster = createCluster({ primary: url, replicas: [replicaUrl], pg })
   * ```
   */
  readonly pg?: PgDriver
  /**
   * Statement mirrors: independent databases (not streaming replicas) on which every
   * write that committed on the primary is replayed, in this process's acknowledgement
   * order, each transaction as one transaction. Never a routing target: no read is
   * answered from a mirror. Not to be confused with `sync`, which waits for the
   * streaming replicas. See the README's "Statement mirroring".
   *
   * @example
   * ```ts
   * createCluster({ primary, replicas, mirrors: [{ url: 'postgres://app@pg19/app', name: 'pg19', reads: { sample: 0.1 } }] })
   * ```
   */
  readonly mirrors?: readonly MirrorConfig[]
}

/** One statement mirror. */
export interface MirrorConfig {
  /** The mirror's `postgres://` URL. Give this or `connectionString`. */
  readonly url?: string
  readonly connectionString?: string
  /** Its name in `status()`, events and errors. Default: its `host:port`. */
  readonly name?: string
  /**
   * `'async'` (default): the write returns at once; the mirror applies it in the
   * background. `'sync'`: the write returns once the mirror applied it, or throws
   * `MIRROR_NOT_APPLIED` after `timeoutMillis` (the primary committed it).
   */
  readonly mode?: 'async' | 'sync'
  /** Also send this fraction (0..1) of reads to the mirror; results are discarded, latency recorded. */
  readonly reads?: { readonly sample: number }
  /**
   * A write calling a volatile function (`now()`, `random()`, `gen_random_uuid()`,
   * `nextval()`…) or `DEFAULT` gives the mirror another value. `'flag'` (default):
   * mirror it, count it, emit `mirror-nondeterministic`. `'refuse'`: reject the
   * statement with `MIRROR_REFUSED` before it runs on the primary.
   */
  readonly volatile?: 'flag' | 'refuse'
  /**
   * Bounds of the in-memory backlog of an unreachable or slow mirror: past either,
   * the mirror is out of sync. Default 10,000 statements and 16 MiB.
   */
  readonly backlog?: { readonly maxStatements?: number; readonly maxBytes?: number }
  /** `mode: 'sync'`: how long a write waits for the mirror. Default 1,000 ms. */
  readonly timeoutMillis?: number
  /**
   * `mode: 'async'`, in memory: how long the replay waits once writes are queued,
   * to apply the writes of that moment together (one mirror transaction, two round
   * trips, up to 256 of them) instead of each on its own. It keeps the replay's cost
   * off the primary's write path (bench `write-mirror-c1`); the mirror lags by about
   * this much. `0`: replay at once. Default 10 ms. A sync mirror's write never waits
   * for it.
   */
  readonly gatherMillis?: number
  /**
   * In memory: `'commit'` (default) replays in the primary's commit order: each
   * write reads its WAL position before its COMMIT, in the same round trip, which
   * costs the primary one more statement per write (bench `write-mirror-c1`: Dp/D).
   * `'acknowledgement'` replays in the order this process saw the writes
   * acknowledged, and reads nothing: exact for one connection's writes and for
   * writes that commute, not for conflicting writes of several connections (a
   * backend releases its locks before its COMMIT's reply). For shadow load, where
   * the mirror's final rows need not match. A durable mirror is always in commit order.
   */
  readonly order?: 'commit' | 'acknowledgement'
  /**
   * Durable mirroring: each mirrored transaction writes an outbox row
   * (`causeway_mirror.outbox`) on the primary in the same transaction, and a relay
   * applies the rows in commit order with its progress recorded on the mirror, so
   * a crash of the app process loses nothing. Costs a transaction-scoped advisory
   * lock that serializes mirrored commits. `mode: 'async'` only.
   */
  readonly durable?:
    | boolean
    | {
        /** How often the relay looks for rows when no write woke it. Default 100 ms. */
        readonly pollMillis?: number
        /** Outbox rows applied per mirror transaction. Default 100. */
        readonly batchSize?: number
      }
}

/** How Causeway follows a Patroni cluster's REST API. */
export interface PatroniConfig {
  /**
   * REST API base URLs of the members (or of a balancer in front of them), asked in
   * order until one answers: `http://pg1:8008`. A `user:password@` is sent as basic
   * auth and never shown.
   */
  readonly urls: readonly string[]
  /** How often to ask. Default 500 ms. */
  readonly intervalMillis?: number
  /** How long one request may take. Default 1,000 ms. */
  readonly timeoutMillis?: number
  /**
   * Add the members Patroni lists that no node matches, as replicas named after the
   * member, with the primary's connection settings at the member's `host:port`.
   * Default false. Such a node is trusted like any other only once its system
   * identifier matches the cluster's, but Causeway does connect to it with the
   * primary's credentials: turn this on only when the REST API is as trusted as
   * the servers (reachable only from inside, or behind basic auth over https).
   */
  readonly discover?: boolean
}
