import type { Intent } from '../model/intent.js'
import type { NodeRole, NodeState } from '../model/node-state.js'

/**
 * Every event a cluster emits, with its payload. Payloads name nodes and statements,
 * never credentials. Statements are cut to 200 characters.
 */
export interface ClusterEvents {
  /** A node passed enough probes to be routed to again. */
  'node-up': { node: string; role: NodeRole }
  /** A node failed one probe or query: it gets no new reads until it passes again. */
  'node-suspect': { node: string; error: string }
  /** A node failed `health.downAfter` times in a row. */
  'node-down': { node: string; error: string }
  /** A replica went past `maxLag` and is skipped. */
  'node-lagging': { node: string; lagBytes: number; lagMillis: number }
  /** A lagging replica came back within `maxLag`. */
  'node-caught-up': { node: string; lagBytes: number; lagMillis: number }
  /**
   * The server refuses a function Causeway calls (SQLSTATE 42501 without the
   * privilege, 42883 or 0A000 on a service that does not provide it). `error` is
   * the `FUNCTION_REFUSED` message: the function, what Causeway cannot do without
   * it, and what to configure. Emitted once per node and function. A replica that
   * refuses is never routed to; a primary that refuses token captures serves the
   * reads that follow writes.
   */
  'function-refused': {
    node: string
    function: string | undefined
    sqlState: string | undefined
    error: string
  }
  /** A node is fenced: nothing is routed to it. */
  'node-fenced': { node: string; reason: string }
  /** A node's role changed (seen by a probe, a ParameterStatus message or a 25006). */
  'role-changed': { node: string; from: NodeRole; to: NodeRole }
  /** Writes now go to another node. */
  'primary-changed': { from: string | undefined; to: string; timeline: number; epoch: number }
  'failover-started': { from: string; reason: string }
  'failover-completed': { from: string; to: string; timeline: number; durationMillis: number }
  'failover-failed': { from: string; error: string }
  /**
   * A failover was about to start, but the primary answered the re-probe taken
   * under the lock: it stays the primary (a stall, not a crash).
   */
  'failover-cancelled': { from: string; reason: string }
  /**
   * No Patroni REST API of `patroni.urls` answered: until one does, the probes
   * decide alone, as without Patroni. Once per outage.
   */
  'patroni-unreachable': { error: string }
  /** A Patroni REST API answers again after `patroni-unreachable`. */
  'patroni-reachable': { source: string }
  /**
   * Patroni and the server itself disagree about a node, at two polls in a row:
   * Patroni names it the leader while it is in recovery, lists it as a replica while
   * it is writable, or reports another timeline. The server's word decides its
   * role; Patroni's decides whether it may take writes (both must agree).
   */
  'topology-disagreement': { node: string; patroni: string; server: string }
  'replica-added': { node: string }
  'replica-removed': { node: string }
  /** A read went to the primary because no replica was eligible. */
  fallback: { reason: FallbackReason; statement: string }
  /** A read was retried on another node after a connection-level failure. */
  'read-retried': { from: string; to: string; error: string; statement: string }
  /**
   * A statement classified as a read was rejected by a replica with 25006: it
   * writes after all (a user function, say). It was retried once on the primary.
   * Mark it with `onPrimary` to skip the round trip.
   */
  'misclassified-write': { node: string; statement: string; intent: Intent }
  /**
   * A consistency token this cluster cannot serve from replicas: of another system,
   * of an older timeline (its write may have been lost in a failover), of a
   * timeline (`newer`) or a position (`unreachable`) the cluster has not reached.
   * Tokens come from clients, so this is untrusted input: the read went to the
   * primary, at no more cost than that.
   */
  'stale-token': {
    reason: 'timeline' | 'system' | 'newer' | 'unreachable'
    token: string
    statement: string
  }
  /** Synchronous mirroring did not reach enough replicas in time. */
  'mirror-timeout': { lsn: string; mirrored: readonly string[]; required: number }
  /**
   * A statement mirror stopped applying writes: its backlog overflowed
   * (`backlog-full`), the mirror rejected a write the primary committed
   * (`divergence`), or a replayed COMMIT's outcome is unknown (`commit-unknown`).
   * `notApplied` counts the statements it will not apply (its backlog, dropped).
   */
  'mirror-out-of-sync': {
    mirror: string
    reason: 'backlog-full' | 'divergence' | 'commit-unknown'
    error: string
    notApplied: number
  }
  /** A statement mirror that was unreachable applied its whole backlog. */
  'mirror-caught-up': { mirror: string; applied: number; outageMillis: number }
  /**
   * A replayed statement did not do on the mirror what it did on the primary: it
   * failed there (`error`), or changed another number of rows (`primaryRows`,
   * `mirrorRows`). Followed by `mirror-out-of-sync`.
   */
  'mirror-divergence': {
    mirror: string
    statement: string
    error?: string
    primaryRows?: number
    mirrorRows?: number
  }
  /**
   * A mirrored write calls volatile functions (or `DEFAULT`): the mirrors get other
   * values than the primary. Once per statement text; `refused` when a mirror with
   * `volatile: 'refuse'` rejected it before it ran.
   */
  'mirror-nondeterministic': {
    statement: string
    functions: readonly string[]
    mirrors: readonly string[]
    refused: boolean
  }
  /**
   * A statement finished (or failed) on a node: which node served it, for logs and
   * for seeing the routing at work. Only built when someone listens.
   */
  statement: {
    node: string
    role: NodeRole
    intent: Intent
    statement: string
    durationMillis: number
    error?: string
  }
  /** A listener threw; the cluster carries on. */
  'listener-error': { event: string; error: string }
}

/**
 * Why a read went to the primary: no replica configured; none healthy; all
 * beyond `maxLag`; none has replayed the scope's token (or the one tried proved
 * not to have it); the scope's token was still being captured (a write had just
 * returned: the primary has it, and no replica can be shown to yet).
 */
export type FallbackReason =
  | 'no-replica'
  | 'all-replicas-unhealthy'
  | 'all-replicas-lagging'
  | 'not-caught-up'
  | 'capture-pending'

/** The name of an event. */
export type ClusterEventName = keyof ClusterEvents

/** A listener of one event. */
export type ClusterListener<E extends ClusterEventName> = (payload: ClusterEvents[E]) => void

/** Node state names, re-exported for listeners that switch on them. */
export type { NodeRole, NodeState }
