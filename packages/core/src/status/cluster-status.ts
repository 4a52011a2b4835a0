import type { FallbackReason } from '../events/cluster-events.js'
import type { MirrorStatus } from '../mirror/statement-mirror.js'
import type { NodeRole, NodeState } from '../model/node-state.js'

/** One node in a {@link ClusterStatus}. No credentials: names and numbers only. */
export interface NodeStatus {
  readonly name: string
  readonly role: NodeRole
  readonly state: NodeState
  /**
   * Why the node is fenced, or its last error while suspect or down, or (while
   * healthy) the function it refuses Causeway (`FUNCTION_REFUSED`: a primary that
   * takes writes but whose position cannot be read).
   */
  readonly reason: string | undefined
  /** Replay LSN of a replica, current WAL LSN of the primary, as last seen. */
  readonly lsn: string | undefined
  readonly timeline: number | undefined
  /** The node a replica streams from, by name when it is one of ours, else `host:port`. */
  readonly upstream: string | undefined
  readonly lagBytes: number | undefined
  readonly lagMillis: number | undefined
  /** Past `maxLag`, and skipped for reads. */
  readonly lagging: boolean
  readonly replayPaused: boolean
  readonly draining: boolean
  readonly weight: number
  readonly inFlight: number
  /** Statements this node completed. */
  readonly served: number
  /** Failed probes and connection-level query failures. */
  readonly failures: number
  /** Health probes sent to the node (scheduled, and those a failure or a token asked for). */
  readonly probes: number
  /**
   * Statements Causeway sent to the node on its own, outside the app's reads and
   * writes: probes, token captures, replay polls of synchronous mirroring,
   * promotions and cancels. Each app process sends its own.
   */
  readonly ownStatements: number
  /**
   * App reads sent with a replay-position check in the same flight (to prove that
   * the server that ran the read has the scope's token), and how many of those the
   * check found stale (the read then ran again on the primary).
   */
  readonly freshnessChecks: number
  readonly freshnessMisses: number
  readonly latencyMillis: number
  /** What Patroni says of this node, when `patroni` is configured and lists it. */
  readonly patroni?: PatroniMemberStatus
}

/** One node as Patroni's `GET /cluster` last listed it. */
export interface PatroniMemberStatus {
  /** The member's name in Patroni. */
  readonly member: string
  /** `leader`, `replica`, `sync_standby`… */
  readonly role: string
  /** `running`, `streaming`, `stopped`… */
  readonly state: string
  readonly timeline: number | undefined
  /** Replay lag in bytes as Patroni computes it. */
  readonly lagBytes: number | undefined
  /** How Patroni and the server disagree, when they do (see `topology-disagreement`). */
  readonly disagreement: string | undefined
}

/** How Causeway's view of Patroni stands. */
export interface PatroniStatus {
  /** Whether the last poll got an answer. */
  readonly reachable: boolean
  /** The REST API that answered last (no credentials). */
  readonly source: string | undefined
  /** The member holding the leader key in the last answer. */
  readonly leader: string | undefined
  /** Members in the last answer. */
  readonly members: number
  /** When the last answer came (`Date.now()`). */
  readonly answeredAt: number | undefined
  /** Why the last poll got no answer. */
  readonly error: string | undefined
}

/** A snapshot of the cluster, from `cluster.status()`. */
export interface ClusterStatus {
  /** The node writes go to now, or undefined during a failover. */
  readonly primary: string | undefined
  readonly timeline: number
  readonly systemId: string | undefined
  /** Incremented each time the primary changes. */
  readonly epoch: number
  readonly failover: 'follow' | 'auto' | 'off'
  readonly nodes: readonly NodeStatus[]
  /** Present when `patroni` is configured. */
  readonly patroni?: PatroniStatus
  /** Reads sent to the primary because no replica was eligible, by reason. */
  readonly fallbacks: Readonly<Record<FallbackReason, number>>
  readonly readRetries: number
  readonly misclassifiedWrites: number
  readonly staleTokens: number
  /**
   * Reads sent to a replica not yet known to have replayed their token (they do
   * not wait: each carries its proof), and how many of those proved it. The names
   * are from when such reads waited.
   */
  readonly replayWaits: number
  readonly replayWaitsSatisfied: number
  readonly mirrorWaits: number
  readonly mirrorTimeouts: number
  /** The statement mirrors (`mirrors`), when any is configured. */
  readonly mirrors?: readonly MirrorStatus[]
}
