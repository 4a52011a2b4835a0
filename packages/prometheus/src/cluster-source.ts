import type { Cluster, ClusterStatus } from '@causeway/core'
import { type StatementLabels, statementLabels } from './labels.js'

/** The part of a {@link Cluster} the adapter reads: its events and its status. */
export type MeteredCluster = Pick<Cluster, 'on' | 'status'>

/** How a failover this process ran ended. */
export type FailoverOutcome = 'completed' | 'failed' | 'cancelled'

/** One `statements_total` series and its count. */
export interface StatementCount {
  readonly labels: StatementLabels
  count: number
}

/**
 * One registered cluster: what its events have counted since registration, and
 * its `status()` for everything the cluster counts itself.
 *
 * Statements are counted from the cluster's own `statement` event rather than
 * from the `causeway:statement` TracingChannel: the channel is process-wide and
 * its context does not say which cluster a statement belongs to, so with two
 * clusters in one process each would count the other's statements.
 */
export class ClusterSource {
  /** The `cluster` label's value, when the registration is named. */
  readonly name: string | undefined
  readonly #cluster: MeteredCluster
  readonly #statements = new Map<string, StatementCount>()
  readonly #failovers: Record<FailoverOutcome, number> = { completed: 0, failed: 0, cancelled: 0 }
  readonly #stops: readonly (() => void)[]

  constructor(cluster: MeteredCluster, name: string | undefined) {
    this.name = name
    this.#cluster = cluster
    this.#stops = [
      cluster.on('statement', (event) => this.#count(statementLabels(event))),
      cluster.on('failover-completed', () => this.#failovers.completed++),
      cluster.on('failover-failed', () => this.#failovers.failed++),
      cluster.on('failover-cancelled', () => this.#failovers.cancelled++),
    ]
  }

  /** The cluster's status now: read at each scrape, never on a timer. */
  status(): ClusterStatus {
    return this.#cluster.status()
  }

  /** Statement counts by node, role, intent and outcome. */
  statements(): Iterable<StatementCount> {
    return this.#statements.values()
  }

  /** Failovers by outcome. */
  failovers(): Readonly<Record<FailoverOutcome, number>> {
    return this.#failovers
  }

  /** Stops listening to the cluster's events. */
  close(): void {
    for (const stop of this.#stops) stop()
  }

  #count(labels: StatementLabels): void {
    const key = `${labels.node}\u0000${labels.role}\u0000${labels.intent}\u0000${labels.outcome}`
    const entry = this.#statements.get(key)
    if (entry) entry.count++
    else this.#statements.set(key, { labels, count: 1 })
  }
}
