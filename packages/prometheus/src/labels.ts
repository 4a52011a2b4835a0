import type { ClusterEvents, ClusterStatus, MirrorState, MirrorStatus, NodeState } from '@causeway/core'

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

/** The labels every `statement_mirror_*` series carries. */
export interface MirrorLabels {
  readonly mirror: string
  readonly mode: MirrorStatus['mode']
  readonly durable: 'true' | 'false'
}

/**
 * A mirror's labels: its name, mode and whether it is durable. Its connection
 * string (which may hold a password) and its `lastError` (which may quote a
 * statement) are left out on purpose.
 */
export function mirrorLabels(mirror: MirrorStatus): MirrorLabels {
  return { mirror: mirror.name, mode: mirror.mode, durable: mirror.durable ? 'true' : 'false' }
}

/** Every mirror state: a `Record` over the union, so a new state fails to compile until it is listed. */
const MIRROR_STATE_SET: Readonly<Record<MirrorState, true>> = {
  'in-sync': true,
  'catching-up': true,
  'out-of-sync': true,
}

/** The states `statement_mirror_state` has a series for, whichever the mirror is in. */
export const MIRROR_STATES = Object.keys(MIRROR_STATE_SET) as readonly MirrorState[]

/** `statement_mirror_state`'s value for `state`: 1 for the mirror's current state, 0 for the others. */
export function mirrorInState(mirror: MirrorStatus, state: MirrorState): 0 | 1 {
  return mirror.state === state ? 1 : 0
}
