import type { ConsistencyToken } from '../consistency/token.js'
import type { FallbackReason } from '../events/cluster-events.js'
import { describeStatement } from '../events/event-hub.js'
import { hasReplayed } from '../routing/router.js'
import type { DbNode } from '../topology/db-node.js'
import type { Engine, ExecutionContext } from './engine.js'
import type { Statement } from './statement.js'

/** How often a scope that reads from the primary after an uncertain write tries to leave that state. */
const RECOVER_EVERY_MILLIS = 100

/**
 * The node a read runs on, decided without waiting when that is possible: no token
 * capture in flight, and a replica already known to be fresh enough (or a primary
 * to fall back to). Returns undefined when the answer needs waiting; then
 * {@link readTarget} decides. Every read passes here, so it allocates nothing.
 *
 * `bound` is the replica the connection already holds: kept while it is still
 * eligible, so that a `db.connection()` reads from one node. `tried` are nodes
 * this read already failed on.
 */
export function readTargetNow(
  engine: Engine,
  statement: Statement,
  context: ExecutionContext,
  bound: DbNode | undefined,
  tried: ReadonlySet<DbNode> | undefined,
): DbNode | undefined {
  const scope = context.scope
  if (scope?.pending || scope?.deferred) return undefined
  if (scope?.primaryOnly) {
    scope.recover(RECOVER_EVERY_MILLIS, engine.recovery(undefined, undefined))
    return fallbackNow(engine, 'not-caught-up', statement)
  }
  const token = scope?.token
  if (token && engine.router.tokenProblem(token)) return undefined
  if (bound && eligible(bound, token, tried)) return bound
  const route = engine.router.routeRead(token, tried)
  if (route.node) return route.node
  if (route.waitFor && token && engine.config.consistency.maxWaitMillis > 0) return undefined
  return fallbackNow(engine, route.fallback, statement)
}

/**
 * The node a read runs on, waiting when needed: for the scope's token capture in
 * flight, and up to `consistency.maxWaitMillis` for a replica to replay the token.
 * Falls back to the primary (counted, and reported by a `fallback` event) rather
 * than read stale data. A token of another timeline or system goes to the primary.
 */
export async function readTarget(
  engine: Engine,
  statement: Statement,
  context: ExecutionContext,
  bound: DbNode | undefined,
  tried: ReadonlySet<DbNode> | undefined,
): Promise<DbNode> {
  const scope = context.scope
  const capture = scope?.settle()
  if (capture) await capture
  if (scope?.primaryOnly) {
    scope.recover(RECOVER_EVERY_MILLIS, engine.recovery(undefined, undefined))
    return fallback(engine, 'not-caught-up', statement)
  }
  const token = scope?.token
  if (token) {
    let problem = engine.router.tokenProblem(token)
    if (problem === 'newer') {
      // Another process may have seen a failover first: look again before trusting
      // any node (rate-limited: the token may be a client's invention).
      await engine.refreshForNewerToken()
      problem = engine.router.tokenProblem(token)
    }
    if (problem) return staleToken(engine, problem, token, statement)
  }
  if (bound && eligible(bound, token, tried)) return bound
  const route = engine.router.routeRead(token, tried)
  if (route.node) return route.node
  const maxWait = engine.config.consistency.maxWaitMillis
  if (route.waitFor && token && maxWait > 0) {
    // A position beyond the primary's cannot be replayed anywhere: a token from a
    // client, not from a write. Checked only when no replica has it, against the
    // primary's cached position and then a fresh (amortised) sample.
    const primary = engine.topology.primary
    if (primary?.lsn !== undefined && token.lsn > primary.lsn) {
      const now = await engine.samplePrimary().catch(() => undefined)
      if (now && now.timeline === token.timeline && token.lsn > now.lsn)
        return staleToken(engine, 'unreachable', token, statement)
    }
    engine.stats.replayWaits++
    const caughtUp = await engine.waiter.waitForAny(route.waitFor, token.lsn, maxWait)
    if (caughtUp) {
      engine.stats.replayWaitsSatisfied++
      return caughtUp
    }
  }
  return fallback(engine, route.fallback, statement)
}

/**
 * A token replicas cannot serve: counted, reported, and read on the primary. Never
 * an error: tokens come back from clients, and a bad one must cost at most this.
 */
function staleToken(
  engine: Engine,
  reason: 'system' | 'timeline' | 'newer' | 'unreachable',
  token: ConsistencyToken,
  statement: Statement,
): Promise<DbNode> {
  engine.stats.staleTokens++
  engine.events.emit('stale-token', {
    reason,
    token: `${token.systemId}/${token.timeline}`,
    statement: describeStatement(statement.sql),
  })
  return engine.primary()
}

function eligible(node: DbNode, token: ConsistencyToken | undefined, tried: ReadonlySet<DbNode> | undefined) {
  return (
    node.role === 'replica' &&
    node.routable &&
    !node.lagging &&
    !tried?.has(node) &&
    (!token || hasReplayed(node, token))
  )
}

function fallbackNow(engine: Engine, reason: FallbackReason, statement: Statement): DbNode | undefined {
  const primary = engine.topology.primary
  if (primary) count(engine, reason, statement)
  return primary
}

function fallback(engine: Engine, reason: FallbackReason, statement: Statement): Promise<DbNode> {
  count(engine, reason, statement)
  return engine.primary()
}

function count(engine: Engine, reason: FallbackReason, statement: Statement): void {
  engine.stats.fallbacks[reason]++
  if (reason !== 'no-replica' && engine.events.has('fallback')) {
    engine.events.emit('fallback', { reason, statement: describeStatement(statement.sql) })
  }
}
