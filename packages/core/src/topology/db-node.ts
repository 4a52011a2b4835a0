import type pg from 'pg'
import { DEFAULT_WAL_LAYOUT, type Lsn, parseLsn, type WalLayout } from '../consistency/lsn.js'
import { LsnSampler, SAMPLE_SQL } from '../consistency/lsn-sampler.js'
import type { ConsistencyToken } from '../consistency/token.js'
import type { SideConnection } from '../driver/side-connection.js'
import type { CausewayError } from '../errors/causeway-error.js'
import { functionRefusedError, refusedFunction } from '../errors/refused-function.js'
import type { NodeRole, NodeState } from '../model/node-state.js'
import { type BreakerSettings, CircuitBreaker } from './circuit-breaker.js'

/** A read in flight that can be cut off: its connection is destroyed, and the read retried elsewhere. */
export interface AbandonableRead {
  abandon(reason: string): void
}

/** What one probe of a node saw. */
export interface ProbeResult {
  readonly role: 'primary' | 'replica'
  readonly systemId: string | undefined
  /** The server's start time: a change means a restart, so cached positions are void. */
  readonly lifetime: string
  /** The primary's current WAL position, or a replica's replay position. */
  readonly lsn: Lsn | undefined
  readonly timeline: number | undefined
  /** `host:port` a replica streams from, when visible. */
  readonly upstream: string | undefined
  readonly replayPaused: boolean
  readonly walLayout: WalLayout
  /**
   * A function the full probe needs that the server refused (`FUNCTION_REFUSED`),
   * on a primary that still answered a reduced probe; undefined when nothing was.
   */
  readonly refused?: CausewayError | undefined
}

/** What a node is made of: its names, its pool and its side connections. */
export interface DbNodeParts {
  readonly name: string
  readonly weight: number
  readonly pool: pg.Pool
  /** `host:port`, to recognise this node as another's upstream. */
  readonly address: string
  /** Where other servers reach it (a re-pointed standby streams from here). */
  readonly endpoint: { readonly host: string; readonly port: number }
  readonly breaker: BreakerSettings
  /** Probes, replay checks, promotions and cancels. */
  readonly side: SideConnection
  /** Token captures: on a connection of their own, so as not to queue behind probes. */
  readonly captures: SideConnection
}

/**
 * One server as the cluster sees it: its pool and side connections, its health,
 * what its probes and queries observed, and its counters. Mutable by design: the
 * monitor and the query path update it in place, and `status()` copies it out.
 */
export class DbNode {
  readonly name: string
  readonly weight: number
  readonly pool: pg.Pool
  /** `host:port`, to recognise this node as another's upstream. */
  readonly address: string
  readonly endpoint: { readonly host: string; readonly port: number }
  readonly breaker: CircuitBreaker
  readonly side: SideConnection
  readonly captures: SideConnection
  /** Takes tokens on this node (amortised): any sample taken after a write was acknowledged covers it. */
  readonly sampler: LsnSampler
  readonly #retryRefusedMillis: number

  role: NodeRole = 'unknown'
  /**
   * Whether the node's system identifier is known to be the cluster's (set by the
   * topology). An unverified node is never routed to: it may be another cluster's.
   */
  verified = false
  /** Why the node is fenced, if it is. */
  fencedBecause: string | undefined
  /** A draining node takes no new statements; running ones finish. */
  draining = false
  lastError: string | undefined
  /**
   * A function the server refused to Causeway's probe (`FUNCTION_REFUSED`): set by
   * the monitor, cleared by a probe that needed nothing refused.
   */
  probeRefused: CausewayError | undefined
  /** A function the server refused to a token capture, and when (`performance.now()`). */
  captureRefused: CausewayError | undefined
  captureRefusedAt = 0
  /** When the current run of failures began; undefined while the node passes. */
  failingSince: number | undefined
  /** When a probe last got an answer from the node (`Date.now()`). */
  answeredAt: number | undefined

  systemId: string | undefined
  timeline: number | undefined
  lifetime: string | undefined
  /**
   * Replay position (replica) or current WAL position (primary), as last seen: a
   * hint for choosing a replica, never the proof of a read's freshness (behind a
   * balancer, one node may be several servers). The proof comes with the read.
   */
  lsn: Lsn | undefined
  /** When a probe or a check last reported the position (`performance.now()`), raised or not. */
  lsnSeenAt = 0
  upstream: string | undefined
  replayPaused = false
  walLayout: WalLayout = DEFAULT_WAL_LAYOUT
  lagBytes: number | undefined
  lagMillis: number | undefined
  lagging = false

  inFlight = 0
  /** Pool checkouts of this node's pool not yet served. */
  checkouts = 0
  served = 0
  failures = 0
  /** Probes sent to the node. */
  probes = 0
  /** Reads sent with a replay-position check in their flight, and how many of those the check found stale. */
  freshnessChecks = 0
  freshnessMisses = 0
  /** Reads running on the node now, to abandon if it stops answering. */
  readonly reads = new Set<AbandonableRead>()
  latencyMillis = 0

  constructor(parts: DbNodeParts) {
    this.name = parts.name
    this.weight = parts.weight
    this.pool = parts.pool
    this.address = parts.address
    this.endpoint = parts.endpoint
    this.breaker = new CircuitBreaker(parts.breaker)
    this.side = parts.side
    this.captures = parts.captures
    this.#retryRefusedMillis = parts.breaker.intervalMillis
    this.sampler = new LsnSampler(
      () => this.#sampleToken(),
      () => this.walLayout,
    )
  }

  get state(): NodeState {
    if (this.fencedBecause) return 'fenced'
    const health = this.breaker.state
    return health === 'healthy' && !this.verified ? 'unverified' : health
  }

  /** The function this server refuses Causeway, if any: what `status()` and the `function-refused` event name. */
  get refused(): CausewayError | undefined {
    return this.probeRefused ?? this.captureRefused
  }

  /**
   * Whether the server refused `pg_current_wal_insert_lsn()` within the last probe
   * interval, to a token capture or to a write's commit-position read (statement
   * mirrors): then writes commit without reading one.
   */
  refusesInsertPosition(): boolean {
    return (
      this.captureRefused !== undefined &&
      performance.now() - this.captureRefusedAt < this.#retryRefusedMillis
    )
  }

  /** A write's commit-position read was refused: recorded as a refused capture (the same function). */
  insertPositionRefused(error: unknown): void {
    this.captureRefused = functionRefusedError(error, this.name)
    this.captureRefusedAt = performance.now()
    this.insertPositionGranted = false
  }

  /**
   * Whether a commit-position read succeeded here since the last refusal: until
   * then, a COMMIT reads it inside a savepoint, so that a refusal cannot cost the
   * transaction.
   */
  insertPositionGranted = false

  /** Healthy, verified, not fenced, not draining. */
  get routable(): boolean {
    return (
      this.fencedBecause === undefined && this.verified && !this.draining && this.breaker.state === 'healthy'
    )
  }

  /** Whether this node has replayed everything a token names, on the token's timeline, as last seen. */
  hasReplayed(token: ConsistencyToken): boolean {
    return this.timeline === token.timeline && this.lsn !== undefined && this.lsn >= token.lsn
  }

  /** Records a finished statement's latency into the EWMA used by the `fastest` balancer. */
  recordLatency(millis: number): void {
    this.latencyMillis = this.latencyMillis === 0 ? millis : this.latencyMillis * 0.8 + millis * 0.2
  }

  /**
   * Takes in what a probe saw. A server that restarted (a new lifetime) since the
   * last probe voids the position cached from its old lifetime.
   */
  observe(result: ProbeResult): void {
    const restarted = this.lifetime !== undefined && this.lifetime !== result.lifetime
    const sameLifetime = this.lifetime !== undefined && this.lifetime === result.lifetime
    this.lifetime = result.lifetime
    this.role = result.role
    this.systemId = result.systemId ?? this.systemId
    // Within one server lifetime a timeline only moves forward. A standby whose WAL
    // receiver stopped (its upstream died) reports its last checkpoint's timeline,
    // which can be older than what it already replayed: keep the newer reading.
    const timeline = result.timeline ?? (restarted ? undefined : this.timeline)
    this.timeline =
      sameLifetime && timeline !== undefined && this.timeline !== undefined && this.timeline > timeline
        ? this.timeline
        : timeline
    this.upstream = result.upstream
    this.replayPaused = result.replayPaused
    this.walLayout = result.walLayout
    this.probeRefused = result.refused
    if (result.lsn !== undefined) {
      this.lsn = result.lsn
      this.lsnSeenAt = performance.now()
    } else if (restarted) this.lsn = undefined
  }

  /**
   * Raises the cached position after a fresh check of this node. Positions only move
   * forward within one server lifetime, so a lower reading is ignored.
   */
  advance(lsn: Lsn): void {
    if (this.lsn === undefined || lsn > this.lsn) this.lsn = lsn
    this.lsnSeenAt = performance.now()
  }

  /**
   * The node stopped answering (its probe timed out): reads running on it are cut
   * off, and retried on another node by their connections. A slow query on a node
   * that answers its probes is never touched.
   */
  abandonReads(reason: string): void {
    for (const read of this.reads) read.abandon(reason)
    this.reads.clear()
  }

  /** Forgets everything tied to the server's lifetime: after a lost connection or restart. */
  forgetPosition(): void {
    this.lsn = undefined
    this.lifetime = undefined
  }

  async #sampleToken(): Promise<{ lsn: string; timeline: number; systemId: string }> {
    // A refused capture is refused again: fail at once (the write's scope then
    // reads from the primary) and ask the server again only after one probe interval.
    const refused = this.captureRefused
    if (refused && performance.now() - this.captureRefusedAt < this.#retryRefusedMillis) throw refused
    try {
      const token = await this.#captureToken()
      this.captureRefused = undefined
      return token
    } catch (error) {
      if (!refusedFunction(error)) throw error
      this.captureRefused = functionRefusedError(error, this.name)
      this.captureRefusedAt = performance.now()
      throw this.captureRefused
    }
  }

  async #captureToken(): Promise<{ lsn: string; timeline: number; systemId: string }> {
    const [row] = await this.captures.run<{ lsn: string; timeline: number }>(SAMPLE_SQL)
    if (!row) throw new Error('token capture returned no row')
    // The primary has reached at least this: a token from this capture is then
    // known reachable without asking again (the read planner's check for forged tokens).
    this.advance(parseLsn(row.lsn))
    // Known from the first probe; asked for only if a write beat it.
    const systemId =
      this.systemId ??
      (
        await this.captures.run<{ id: string }>(
          'select system_identifier::text as id from pg_control_system()',
        )
      )[0]?.id
    if (!systemId) throw new Error('token capture could not read the system identifier')
    return { ...row, systemId }
  }
}
