import type { ResolvedConfig } from '../config/config-schema.js'
import type { ConsistencyScope, Recovery } from '../consistency/consistency-scope.js'
import type { ReplayWaiter } from '../consistency/replay-waiter.js'
import type { ConsistencyToken } from '../consistency/token.js'
import type { FallbackReason } from '../events/cluster-events.js'
import type { EventHub } from '../events/event-hub.js'
import type { Router } from '../routing/router.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'

/** Where a statement runs from: its consistency scope and hints. */
export interface ExecutionContext {
  readonly scope: ConsistencyScope | undefined
  readonly onPrimary: boolean
}

/** Cluster-wide counters, shown by `status()`. */
export interface EngineStats {
  readonly fallbacks: Record<FallbackReason, number>
  readRetries: number
  misclassifiedWrites: number
  staleTokens: number
  /** Reads that waited for a replica to replay their token, and how many of those waits found one. */
  replayWaits: number
  replayWaitsSatisfied: number
  mirrorWaits: number
  mirrorTimeouts: number
}

/** What a {@link RoutedConnection} needs of its cluster. Internal. */
export interface Engine {
  readonly config: ResolvedConfig
  readonly topology: Topology
  readonly router: Router
  readonly events: EventHub
  readonly waiter: ReplayWaiter
  readonly stats: EngineStats
  readonly closed: boolean
  /**
   * Has `cancel` called with a `CLOSED` error when the cluster closes (at once if it
   * is closed) while a pool checkout waits: pg-pool's `end()` never settles the
   * checkouts still queued. Returns the function that stops watching.
   */
  watchCheckout(cancel: (error: Error) => void): () => void
  context(): ExecutionContext
  /**
   * The primary, waiting up to `writeWaitMillis` during a failover; throws
   * `NO_PRIMARY`. `avoid`: a primary that just failed, usable again only once healthy.
   */
  primary(avoid?: DbNode): Promise<DbNode>
  /** A connection-level failure seen by a query: feeds the node's breaker. */
  reportFailure(node: DbNode, error: unknown): void
  /** Probes every node now (after a 25006 on a write, say). */
  refreshTopology(): Promise<void>
  /** Probes every node now, unless a newer-timeline token did so within the probe interval. */
  refreshForNewerToken(): Promise<void>
  /**
   * How a scope leaves "reads on the primary" after a write of unknown outcome sent
   * to `node`'s server process `pid`: a token taken on the primary once that
   * process is gone (so the write can no longer commit), or undefined until then.
   */
  recovery(node: DbNode | undefined, pid: number | undefined): Recovery
  /** The primary's position now (amortised with token captures); also raises its cached position. */
  samplePrimary(): Promise<ConsistencyToken>
  /**
   * Starts capturing the token of a write acknowledged by `node`, into `scope`
   * when there is one. Returns the capture, for mirroring to wait on.
   */
  captureWrite(node: DbNode, scope: ConsistencyScope | undefined): Promise<ConsistencyToken>
  /** Runs a control statement (a cancel) on `node` over its own side connection, outside any pool. */
  control(node: DbNode, sql: string, parameters: readonly unknown[]): Promise<void>
  /** Records a write acknowledged by `node`, to capture when `scope` next needs its token (lazy). */
  deferCapture(node: DbNode, scope: ConsistencyScope): void
  /** Whether synchronous mirroring applies to a write in `scope`. */
  mirrors(scope: ConsistencyScope | undefined): boolean
  /** Synchronous mirroring of the write whose token `capture` resolves to. */
  mirrorWrite(scope: ConsistencyScope | undefined, capture: Promise<ConsistencyToken>): Promise<void>
}
