import type { ScopeContext } from '../consistency/scope-context.js'
import type { Counters } from '../events/counters.js'
import type { EventHub } from '../events/event-hub.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { PrimaryFinder } from '../health/primary-finder.js'
import type { MirrorSet } from '../mirror/mirror-set.js'
import type { ReadPlanner } from '../routing/read-planner.js'
import type { Topology } from '../topology/topology.js'
import type { CheckoutWatch } from './checkout-watch.js'
import type { ProvenPositions } from './proven-positions.js'
import type { WriteCapture } from './write-capture.js'

/**
 * The parts of a cluster a {@link RoutedConnection} works with: each a real object
 * of a lower layer, built once per cluster and shared by every connection.
 */
export interface ConnectionParts {
  /** The scope and hints of the code running now. */
  readonly scopes: ScopeContext
  readonly topology: Topology
  /** Where a read runs. */
  readonly planner: ReadPlanner
  /** Where a write runs, waiting out a failover. */
  readonly primaries: PrimaryFinder
  /** Hears of connection-level failures, and probes on demand. */
  readonly monitor: HealthMonitor
  /** Token capture and mirroring after a write. */
  readonly writes: WriteCapture
  /** Replay positions proven per server by the checks in reads' flights. */
  readonly proofs: ProvenPositions
  /** `consistency.reuseProofs`: whether a proof serves later reads on the same server. */
  readonly reuseProofs: boolean
  /** Whether the cluster is closed; fails checkouts that wait when it closes. */
  readonly checkouts: CheckoutWatch
  readonly counters: Counters
  readonly events: EventHub
  /** The statement mirrors (`mirrors`); undefined when none is configured. */
  readonly mirrors: MirrorSet | undefined
  /** `writeWaitMillis`: whether a write that could not connect may wait for a primary. */
  readonly writeWaitMillis: number
}
