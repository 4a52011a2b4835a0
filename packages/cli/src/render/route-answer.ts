import type { Classification, ClusterStatus, FallbackReason, Intent } from '@causeway/core'

/** Where a statement would go, and why: the answer of `causeway route`. */
export interface RouteAnswer {
  readonly intent: Intent
  /** The classifier's reason: the construct that makes it a write, or `plain read`. */
  readonly reason: string
  /** `replica` for a read that one of `nodes` would serve; else `primary`. */
  readonly target: 'primary' | 'replica'
  /** The node names it could go to, as the cluster stands now; empty without a cluster. */
  readonly nodes: readonly string[]
  /** Why a read would go to the primary all the same, in core's `fallback` terms. */
  readonly fallback: FallbackReason | undefined
  /** One sentence on the decision. */
  readonly why: string
}

/**
 * Routes a classified statement as core's router would for a process with no
 * session token (a fresh process has made no writes): a read goes to a replica
 * that serves reads (a healthy, verified replica, not draining) and is within
 * `maxLag`, else to the primary; anything not proven a read goes to the primary.
 * Without a status it answers from the classification alone.
 *
 * @example
 * answerRoute(classifySql('select 1'), undefined)
 * // { intent: 'read', reason: 'plain read', target: 'replica', nodes: [], fallback: undefined, why: '...' }
 */
export function answerRoute(classification: Classification, status: ClusterStatus | undefined): RouteAnswer {
  const { intent, reason } = classification
  const primary = status?.primary === undefined ? [] : [status.primary]
  if (intent !== 'read') {
    const why =
      intent === 'write'
        ? 'a write runs on the primary'
        : 'a statement not proven a read is routed like a write, to the primary'
    return { intent, reason, target: 'primary', nodes: primary, fallback: undefined, why }
  }
  if (status === undefined) {
    return {
      intent,
      reason,
      target: 'replica',
      nodes: [],
      fallback: undefined,
      why: 'a plain read runs on a healthy replica within maxLag that has the session’s writes, else on the primary',
    }
  }
  const replicas = status.nodes.filter((node) => node.name !== status.primary)
  const serving = replicas.filter(
    (node) => node.role === 'replica' && node.state === 'healthy' && !node.draining,
  )
  const eligible = serving.filter((node) => !node.lagging)
  if (eligible.length > 0) {
    return {
      intent,
      reason,
      target: 'replica',
      nodes: eligible.map((node) => node.name),
      fallback: undefined,
      why: `a plain read runs on one of ${eligible.length} eligible replica(s), picked by the balancer`,
    }
  }
  const fallback: FallbackReason =
    replicas.length === 0
      ? 'no-replica'
      : serving.length === 0
        ? 'all-replicas-unhealthy'
        : 'all-replicas-lagging'
  return {
    intent,
    reason,
    target: 'primary',
    nodes: primary,
    fallback,
    why: `a plain read, but it falls back to the primary (${fallback})`,
  }
}

/** The answer as aligned `key  value` lines. */
export function renderRouteAnswer(answer: RouteAnswer): string {
  const target = answer.nodes.length > 0 ? `${answer.target}: ${answer.nodes.join(', ')}` : answer.target
  const lines: [string, string][] = [
    ['intent', answer.intent],
    ['reason', answer.reason],
    ['target', target],
    ['why', answer.why],
  ]
  return lines.map(([key, value]) => `${key.padEnd(7)} ${value}\n`).join('')
}
