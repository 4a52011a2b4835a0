import type { MirrorStatus } from '@causeway/core'
import { MIRROR_STATES, millisToSeconds, mirrorInState, mirrorLabels } from './labels.js'
import type { MetricName } from './metric-names.js'
import type { Reader, Sample } from './series.js'

/** The `statement_mirror_*` metrics. */
type MirrorMetricName = Extract<MetricName, `statement_mirror_${string}`>

/** One sample per statement mirror, labelled by it; none when the cluster has no mirror. */
function perMirror(value: (mirror: MirrorStatus) => number): Reader {
  return (_, status) => (status.mirrors ?? []).map((mirror) => [{ ...mirrorLabels(mirror) }, value(mirror)])
}

/**
 * How each statement mirror metric is read from `status().mirrors`. The counters
 * are the mirror's own counts since the cluster was created: they only grow, and
 * start at 0 for a mirror with nothing to count, so rate() has a series at once.
 */
export const MIRROR_READERS: Readonly<Record<MirrorMetricName, Reader>> = {
  // Every state, the current one 1: a state-timeline or `== 1` works without absent().
  statement_mirror_state: (_, status) =>
    (status.mirrors ?? []).flatMap((mirror) =>
      MIRROR_STATES.map(
        (state): Sample => [{ ...mirrorLabels(mirror), state }, mirrorInState(mirror, state)],
      ),
    ),
  statement_mirror_backlog_statements: perMirror((mirror) => mirror.backlogStatements),
  statement_mirror_backlog_bytes: perMirror((mirror) => mirror.backlogBytes),
  statement_mirror_held_for_order: perMirror((mirror) => mirror.heldForOrder),
  statement_mirror_lag_seconds: perMirror((mirror) => millisToSeconds(mirror.lagMillis)),
  statement_mirror_applied_total: perMirror((mirror) => mirror.applied),
  statement_mirror_failed_total: perMirror((mirror) => mirror.failed),
  statement_mirror_not_applied_total: perMirror((mirror) => mirror.notApplied),
  statement_mirror_nondeterministic_total: perMirror((mirror) => mirror.nondeterministic),
  statement_mirror_sampled_reads_total: perMirror((mirror) => mirror.sampledReads),
  statement_mirror_sampled_read_errors_total: perMirror((mirror) => mirror.sampledReadErrors),
}
