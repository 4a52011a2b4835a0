import type { ClusterEvents, ClusterStatus, NodeState } from '@causeway/core'

/** The labels of one `statements_total` series. */
export interface StatementLabels {
  readonly node: string
  readonly role: string
  readonly intent: string
  readonly outcome: 'ok' | 'error'
}

/**
 * The labels of a finished statement: who served it and how it ended. The
 * payload's `statement` text and `error` message are left out on purpose: they
 * are unbounded (each distinct SQL string would be a new series) and may quote data.
 */
export function statementLabels(event: ClusterEvents['statement']): StatementLabels {
  return {
    node: event.node,
    role: event.role,
    intent: event.intent,
    outcome: event.error === undefined ? 'ok' : 'error',
  }
}

/** `node_up`'s value: only a healthy node is routed to. */
export function nodeUp(state: NodeState): 0 | 1 {
  return state === 'healthy' ? 1 : 0
}

/** The `info` labels: stable for the cluster's life (the system id is unknown until the primary answers). */
export function infoLabels(status: ClusterStatus): { system_id: string; failover: string } {
  return { system_id: status.systemId ?? '', failover: status.failover }
}

/** Prometheus' base unit for time is the second. */
export function millisToSeconds(millis: number): number {
  return millis / 1000
}
