import type { ConsistencyScope, Recovery } from '../consistency/consistency-scope.js'
import type { ConsistencyToken } from '../consistency/token.js'
import type { FallbackReason } from '../events/cluster-events.js'
import type { Counters } from '../events/counters.js'
import { describeStatement, type EventHub } from '../events/event-hub.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { PrimaryFinder } from '../health/primary-finder.js'
import type { Statement } from '../model/statement.js'
import type { DbNode } from '../topology/db-node.js'
import type { ReplayWaiter } from '../topology/replay-waiter.js'
import type { Topology } from '../topology/topology.js'
import { eligible, type Router } from './router.js'

/** How often a scope that reads from the primary after an uncertain write tries to leave that state. */
const RECOVER_EVERY_MILLIS = 100

/** What a {@link ReadPlanner} works with. */
export interface ReadPlannerParts {
  readonly router: Router
  readonly topology: Topology
  readonly waiter: ReplayWaiter
  readonly primaries: PrimaryFinder
  readonly monitor: HealthMonitor
  readonly counters: Counters
  readonly events: EventHub
  /** `consistency.maxWaitMillis`: how long a read may wait for a replica to replay its token. */
  readonly maxWaitMillis: number
}

/**
 * Decides the node a read runs on, given its scope: a replica known to have the
 * scope's token, one that replays it within `consistency.maxWaitMillis`, or the
 * primary (counted, and reported by a `fallback` event) rather than stale data.
 * A token of another timeline or system goes to the primary.
 *
 * `bound` is the replica the connection already holds: kept while it is still
 * eligible, so that a `db.connection()` reads from one node. `tried` are nodes
 * this read already failed on.
 */
export class ReadPlanner {
  readonly #router: Router
  readonly #topology: Topology
  readonly #waiter: ReplayWaiter
  readonly #primaries: PrimaryFinder
  readonly #monitor: HealthMonitor
  readonly #counters: Counters
  readonly #events: EventHub
  readonly #maxWaitMillis: number
  /** A token from the primary of the moment: covers any write acknowledged before it was taken. */
  readonly #sampleCurrentPrimary: Recovery

  constructor(parts: ReadPlannerParts) {
    this.#router = parts.router
    this.#topology = parts.topology
    this.#waiter = parts.waiter
    this.#primaries = parts.primaries
    this.#monitor = parts.monitor
    this.#counters = parts.counters
    this.#events = parts.events
    this.#maxWaitMillis = parts.maxWaitMillis
    this.#sampleCurrentPrimary = async () => this.#topology.primary?.sampler.sample()
  }

  /**
   * The node, decided without waiting when that is possible: no token capture in
   * flight, and a replica already known to be fresh enough (or a primary to fall
   * back to). Undefined when the answer needs waiting; then {@link plan} decides.
   * Every read passes here, so it allocates nothing.
   */
  now(
    statement: Statement,
    scope: ConsistencyScope | undefined,
    bound: DbNode | undefined,
    tried: ReadonlySet<DbNode> | undefined,
  ): DbNode | undefined {
    if (scope?.pending || scope?.deferred) return undefined
    if (scope?.primaryOnly) {
      scope.recover(RECOVER_EVERY_MILLIS, this.#sampleCurrentPrimary)
      return this.#fallbackNow('not-caught-up', statement)
    }
    const token = scope?.token
    if (token && this.#router.tokenProblem(token)) return undefined
    if (bound && eligible(bound, token, tried)) return bound
    const route = this.#router.routeRead(token, tried)
    if (route.node) return route.node
    if (route.waitFor && token && this.#maxWaitMillis > 0) return undefined
    return this.#fallbackNow(route.fallback, statement)
  }

  /**
   * The node, waiting when needed: for the scope's token capture in flight, and up
   * to `consistency.maxWaitMillis` for a replica to replay the token.
   */
  async plan(
    statement: Statement,
    scope: ConsistencyScope | undefined,
    bound: DbNode | undefined,
    tried: ReadonlySet<DbNode> | undefined,
  ): Promise<DbNode> {
    const capture = scope?.settle()
    if (capture) await capture
    if (scope?.primaryOnly) {
      scope.recover(RECOVER_EVERY_MILLIS, this.#sampleCurrentPrimary)
      return this.#fallback('not-caught-up', statement)
    }
    const token = scope?.token
    if (token) {
      let problem = this.#router.tokenProblem(token)
      if (problem === 'newer') {
        // Another process may have seen a failover first: look again before trusting
        // any node (rate-limited: the token may be a client's invention).
        await this.#monitor.recheck()
        problem = this.#router.tokenProblem(token)
      }
      if (problem) return this.#staleToken(problem, token, statement)
    }
    if (bound && eligible(bound, token, tried)) return bound
    const route = this.#router.routeRead(token, tried)
    if (route.node) return route.node
    if (route.waitFor && token && this.#maxWaitMillis > 0) {
      // A position beyond the primary's cannot be replayed anywhere: a token from a
      // client, not from a write. Checked only when no replica has it, against the
      // primary's cached position and then a fresh (amortised) sample.
      const primary = this.#topology.primary
      if (primary?.lsn !== undefined && token.lsn > primary.lsn) {
        const now = await primary.sampler.sample().catch(() => undefined)
        if (now && now.timeline === token.timeline && token.lsn > now.lsn)
          return this.#staleToken('unreachable', token, statement)
      }
      this.#counters.replayWaits++
      const caughtUp = await this.#waiter.waitForAny(route.waitFor, token.lsn, this.#maxWaitMillis)
      if (caughtUp) {
        this.#counters.replayWaitsSatisfied++
        return caughtUp
      }
    }
    return this.#fallback(route.fallback, statement)
  }

  /**
   * A token replicas cannot serve: counted, reported, and read on the primary. Never
   * an error: tokens come back from clients, and a bad one must cost at most this.
   */
  #staleToken(
    reason: 'system' | 'timeline' | 'newer' | 'unreachable',
    token: ConsistencyToken,
    statement: Statement,
  ): Promise<DbNode> {
    this.#counters.staleTokens++
    this.#events.emit('stale-token', {
      reason,
      token: `${token.systemId}/${token.timeline}`,
      statement: describeStatement(statement.sql),
    })
    return this.#primaries.primary()
  }

  #fallbackNow(reason: FallbackReason, statement: Statement): DbNode | undefined {
    const primary = this.#topology.primary
    if (primary) this.#count(reason, statement)
    return primary
  }

  #fallback(reason: FallbackReason, statement: Statement): Promise<DbNode> {
    this.#count(reason, statement)
    return this.#primaries.primary()
  }

  #count(reason: FallbackReason, statement: Statement): void {
    this.#counters.fallbacks[reason]++
    if (reason !== 'no-replica' && this.#events.has('fallback')) {
      this.#events.emit('fallback', { reason, statement: describeStatement(statement.sql) })
    }
  }
}
