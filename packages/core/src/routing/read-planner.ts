import type { CapturePacer } from '../consistency/capture-pacer.js'
import type { ConsistencyScope, Recovery } from '../consistency/consistency-scope.js'
import type { ReadDemand } from '../consistency/read-demand.js'
import type { ConsistencyToken } from '../consistency/token.js'
import type { FallbackReason } from '../events/cluster-events.js'
import type { Counters } from '../events/counters.js'
import { describeStatement, type EventHub } from '../events/event-hub.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { PrimaryFinder } from '../health/primary-finder.js'
import type { Statement } from '../model/statement.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import type { RouteReason } from '../tracing/trace-channels.js'
import { eligible, type Router } from './router.js'

/** How often a scope that reads from the primary after an uncertain write tries to leave that state. */
const RECOVER_EVERY_MILLIS = 100

/**
 * How long a replica's known position is taken as the truth: one read this
 * recently (by a probe, or by the check in a read's flight), after the token was
 * taken, that is behind the token means the replica has not replayed it, and the
 * read goes to the primary without trying. An older one, or one read before the
 * token existed, says little (replay usually takes a fraction of a millisecond),
 * so the replica is tried, with the proof in the read's flight.
 */
const FRESH_POSITION_MILLIS = 1

/**
 * Where a planner writes why it chose the node it returned, for the statement
 * trace. Passed only while the trace has subscribers: without, nothing is written.
 */
export interface RouteNote {
  reason: RouteReason
}

/** What a {@link ReadPlanner} works with. */
export interface ReadPlannerParts {
  readonly router: Router
  readonly topology: Topology
  readonly primaries: PrimaryFinder
  readonly monitor: HealthMonitor
  readonly counters: Counters
  readonly events: EventHub
  /**
   * `consistency.maxWaitMillis`: 0 sends a read whose token no replica is known to
   * have straight to the primary; otherwise such a replica is tried.
   */
  readonly maxWaitMillis: number
  /**
   * Whether a read always starts its scope's deferred captures (`consistency.capture:
   * 'lazy'`); with `'eager'`, the pacer does while reads want tokens.
   */
  readonly captureOnRead: boolean
  /** Where reads that want tokens are noted, for eager capture. */
  readonly demand: ReadDemand
  /** Eager capture's pacer, for a scope whose write was left to its next reader. */
  readonly pacer: CapturePacer
}

/**
 * Decides the node a read runs on, given its scope. It never waits for a replica:
 *
 * - a scope whose token is still being captured (a write just returned) reads
 *   the primary, which costs what waiting for the capture alone would;
 * - a replica known to have the scope's token is chosen; otherwise one not known
 *   to lack it is tried. Either way the read carries its own proof (the routed
 *   connection checks the replay position in the read's flight, on the server
 *   that runs it) and is run again on the primary if the proof fails;
 * - otherwise the primary (counted, and reported by a `fallback` event), rather
 *   than stale data. A token of another timeline or system goes to the primary.
 *
 * `bound` is the replica the connection already holds: kept while it is still
 * eligible, so that a `db.connection()` reads from one node. `tried` are nodes
 * this read already failed on.
 */
export class ReadPlanner {
  readonly #router: Router
  readonly #topology: Topology
  readonly #primaries: PrimaryFinder
  readonly #monitor: HealthMonitor
  readonly #counters: Counters
  readonly #events: EventHub
  readonly #maxWaitMillis: number
  readonly #captureOnRead: boolean
  readonly #demand: ReadDemand
  readonly #pacer: CapturePacer
  /** A token from the primary of the moment: covers any write acknowledged before it was taken. */
  readonly #sampleCurrentPrimary: Recovery
  /** Why the last {@link #route} found no replica. */
  #reason: FallbackReason = 'no-replica'

  constructor(parts: ReadPlannerParts) {
    this.#router = parts.router
    this.#topology = parts.topology
    this.#primaries = parts.primaries
    this.#monitor = parts.monitor
    this.#counters = parts.counters
    this.#events = parts.events
    this.#maxWaitMillis = parts.maxWaitMillis
    this.#captureOnRead = parts.captureOnRead
    this.#demand = parts.demand
    this.#pacer = parts.pacer
    this.#sampleCurrentPrimary = async () => this.#topology.primary?.sampler.sample()
  }

  /**
   * The node, decided without waiting when that is possible: undefined when the
   * answer needs a probe round (a token of a newer timeline) or a primary to
   * appear; then {@link plan} decides. Every read passes here, so without a token
   * it allocates nothing. `note`, when given, learns why the node was chosen.
   */
  now(
    statement: Statement,
    scope: ConsistencyScope | undefined,
    bound: DbNode | undefined,
    tried: ReadonlySet<DbNode> | undefined,
    note?: RouteNote,
  ): DbNode | undefined {
    const onPrimary = this.#scopeOnPrimary(scope)
    if (onPrimary) return this.#fallbackNow(onPrimary, statement, note)
    const token = scope?.token
    if (token) {
      this.#demand.mark()
      if (this.#router.tokenProblem(token)) return undefined
      // Beyond the primary's known position: another process's token, or a forged
      // one; plan() asks the primary which.
      const primaryLsn = this.#topology.primary?.lsn
      if (primaryLsn === undefined || token.lsn > primaryLsn) return undefined
    }
    return (
      this.#route(token, scope?.tokenAt ?? 0, bound, tried, note) ??
      this.#fallbackNow(this.#reason, statement, note)
    )
  }

  /** The node, when {@link now} could not tell without waiting. */
  async plan(
    statement: Statement,
    scope: ConsistencyScope | undefined,
    bound: DbNode | undefined,
    tried: ReadonlySet<DbNode> | undefined,
    note?: RouteNote,
  ): Promise<DbNode> {
    const onPrimary = this.#scopeOnPrimary(scope)
    if (onPrimary) return this.#fallback(onPrimary, statement, note)
    const token = scope?.token
    if (token) {
      let problem = this.#router.tokenProblem(token)
      if (problem === 'newer') {
        // Another process may have seen a failover first: look again before trusting
        // any node (rate-limited: the token may be a client's invention).
        await this.#monitor.recheck()
        problem = this.#router.tokenProblem(token)
      }
      if (problem) return this.#staleToken(problem, token, statement, note)
      // A position beyond the primary's cannot be replayed anywhere: a token from a
      // client, not from a write (or another process's, ahead of this one's view).
      // Checked against the primary's cached position, then a fresh (amortised) sample.
      const primary = this.#topology.primary
      if (primary && (primary.lsn === undefined || token.lsn > primary.lsn)) {
        const now = await primary.sampler.sample().catch(() => undefined)
        if (now && now.timeline === token.timeline && token.lsn > now.lsn)
          return this.#staleToken('unreachable', token, statement, note)
      }
    }
    const node = this.#route(token, scope?.tokenAt ?? 0, bound, tried, note)
    return node ?? this.#fallback(this.#reason, statement, note)
  }

  /**
   * The read's proof failed: the replica that ran it had not replayed the token.
   * It runs again on the primary, counted as `not-caught-up`.
   */
  afterMiss(statement: Statement, note?: RouteNote): Promise<DbNode> {
    return this.#fallback('not-caught-up', statement, note)
  }

  /**
   * Why the scope's reads go to the primary whatever the replicas have, if they
   * do: its writes have no token yet (the primary has them; the capture starts for
   * the reads after this one), or its last write has none (a failed capture, an
   * unknown outcome: a token that covers it is sought meanwhile).
   */
  #scopeOnPrimary(scope: ConsistencyScope | undefined): 'capture-pending' | 'not-caught-up' | undefined {
    if (scope === undefined) return undefined
    if (scope.deferred || scope.pending) {
      this.#wantToken(scope)
      return 'capture-pending'
    }
    if (scope.primaryOnly) {
      scope.recover(RECOVER_EVERY_MILLIS, this.#sampleCurrentPrimary)
      return 'not-caught-up'
    }
    return undefined
  }

  /**
   * A read wants `scope`'s token, which is not captured yet: lazy capture starts
   * it now; eager capture has the pacer take it within its gap (a write made while
   * no read wanted tokens was left to the next reader).
   */
  #wantToken(scope: ConsistencyScope): void {
    this.#demand.mark()
    if (this.#captureOnRead) scope.settle()
    else if (scope.deferred) this.#pacer.schedule(scope)
  }

  /**
   * A replica for the read, or undefined (with the reason in {@link #reason}, read
   * at once by the caller): the bound one while eligible, else the router's
   * choice, else one worth trying.
   */
  #route(
    token: ConsistencyToken | undefined,
    tokenAt: number,
    bound: DbNode | undefined,
    tried: ReadonlySet<DbNode> | undefined,
    note: RouteNote | undefined,
  ): DbNode | undefined {
    if (bound && eligible(bound, token, tried)) {
      if (note) note.reason = 'bound'
      return bound
    }
    const route = this.#router.routeRead(token, tried)
    if (route.node) {
      if (note) note.reason = 'replica'
      return route.node
    }
    this.#reason = route.fallback
    if (route.waitFor && token && this.#maxWaitMillis > 0) {
      const node = this.#worthTrying(route.waitFor, tokenAt)
      if (node) {
        this.#counters.replayWaits++
        if (note) note.reason = 'unproven-replica'
        return node
      }
    }
    return undefined
  }

  /**
   * Among replicas behind the token as last seen, one worth trying: not one whose
   * position was read after the token was taken, and just now (then it has not
   * replayed the token, and the primary is quicker than a try that fails).
   */
  #worthTrying(behind: readonly DbNode[], tokenAt: number): DbNode | undefined {
    const now = performance.now()
    let candidates: DbNode[] | undefined
    for (const node of behind) {
      if (node.lsnSeenAt > tokenAt && now - node.lsnSeenAt < FRESH_POSITION_MILLIS) continue
      candidates ??= []
      candidates.push(node)
    }
    return candidates && this.#router.pick(candidates)
  }

  /**
   * A token replicas cannot serve: counted, reported, and read on the primary. Never
   * an error: tokens come back from clients, and a bad one must cost at most this.
   */
  #staleToken(
    reason: 'system' | 'timeline' | 'newer' | 'unreachable',
    token: ConsistencyToken,
    statement: Statement,
    note: RouteNote | undefined,
  ): Promise<DbNode> {
    if (note) note.reason = 'stale-token'
    this.#counters.staleTokens++
    this.#events.emit('stale-token', {
      reason,
      token: `${token.systemId}/${token.timeline}`,
      statement: describeStatement(statement.sql),
    })
    return this.#primaries.primary()
  }

  #fallbackNow(
    reason: FallbackReason,
    statement: Statement,
    note: RouteNote | undefined,
  ): DbNode | undefined {
    const primary = this.#topology.primary
    if (primary) this.#count(reason, statement, note)
    return primary
  }

  #fallback(reason: FallbackReason, statement: Statement, note: RouteNote | undefined): Promise<DbNode> {
    this.#count(reason, statement, note)
    return this.#primaries.primary()
  }

  #count(reason: FallbackReason, statement: Statement, note: RouteNote | undefined): void {
    if (note) note.reason = reason
    this.#counters.fallbacks[reason]++
    if (reason !== 'no-replica' && this.#events.has('fallback')) {
      this.#events.emit('fallback', { reason, statement: describeStatement(statement.sql) })
    }
  }
}
