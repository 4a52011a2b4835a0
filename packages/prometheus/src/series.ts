import type { ClusterStatus, FallbackReason } from '@causeway/core'
import type { ClusterSource } from './cluster-source.js'
import { infoLabels, millisToSeconds, nodeUp } from './labels.js'
import type { MetricName } from './metric-names.js'
import { MIRROR_READERS } from './mirror-series.js'

/** One series' labels (without `cluster`) and its value. */
export type Sample = readonly [labels: Record<string, string>, value: number]

/** Reads one metric's samples from a registered cluster and its status at scrape time. */
export type Reader = (source: ClusterSource, status: ClusterStatus) => Iterable<Sample>

const FALLBACK_REASONS: readonly FallbackReason[] = [
  'no-replica',
  'all-replicas-unhealthy',
  'all-replicas-lagging',
  'not-caught-up',
  'capture-pending',
]

const single = (value: number): Sample[] => [[{}, value]]

/**
 * How each metric's samples are computed. A `Record` over every name, so a
 * metric added to `METRICS` without a reader fails to compile.
 */
export const READERS: Readonly<Record<MetricName, Reader>> = {
  statements_total: (source) => [...source.statements()].map(({ labels, count }) => [{ ...labels }, count]),
  // Every reason, zero included, so that a dashboard's rate() has a series from the start.
  fallbacks_total: (_, status) =>
    FALLBACK_REASONS.map((reason) => [{ reason }, status.fallbacks[reason] ?? 0]),
  read_retries_total: (_, status) => single(status.readRetries),
  misclassified_writes_total: (_, status) => single(status.misclassifiedWrites),
  stale_tokens_total: (_, status) => single(status.staleTokens),
  replay_waits_total: (_, status) => single(status.mirrorWaits),
  mirror_timeouts_total: (_, status) => single(status.mirrorTimeouts),
  unproven_reads_total: (_, status) => single(status.replayWaits),
  unproven_reads_proven_total: (_, status) => single(status.replayWaitsSatisfied),
  failovers_total: (source) =>
    Object.entries(source.failovers()).map(([outcome, count]) => [{ outcome }, count]),
  node_up: (_, status) =>
    status.nodes.map((node) => [{ node: node.name, role: node.role }, nodeUp(node.state)]),
  // A replica's lag is unknown until its first probe: no sample rather than a false 0.
  replica_lag_bytes: (_, status) =>
    status.nodes.flatMap((node): Sample[] =>
      node.role === 'replica' && node.lagBytes !== undefined ? [[{ node: node.name }, node.lagBytes]] : [],
    ),
  replica_lag_seconds: (_, status) =>
    status.nodes.flatMap((node): Sample[] =>
      node.role === 'replica' && node.lagMillis !== undefined
        ? [[{ node: node.name }, millisToSeconds(node.lagMillis)]]
        : [],
    ),
  in_flight: (_, status) => status.nodes.map((node) => [{ node: node.name }, node.inFlight]),
  epoch: (_, status) => single(status.epoch),
  timeline: (_, status) => single(status.timeline),
  info: (_, status) => [[infoLabels(status), 1]],
  ...MIRROR_READERS,
}
