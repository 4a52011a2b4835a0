/**
 * The labels of every `statement_mirror_*` series: the mirror's configured name
 * (its host and port when unnamed, never its URL), `mode` (`async`, `sync`) and
 * `durable` (`true`, `false`).
 */
const MIRROR_LABELS = ['mirror', 'mode', 'durable'] as const

/**
 * Every metric the adapter exports, by its name without the prefix (`causeway_`
 * by default), with its type and the labels it carries besides `cluster` (which
 * every metric gets when the registration has a `name`). None of these labels
 * can hold statement text or a connection string: their values are node and
 * mirror names from the config, roles, intents and fixed words.
 */
export const METRICS = {
  statements_total: {
    type: 'counter',
    help: 'App statements sent, one per attempt on a node, by node, role (when sent), intent and outcome (ok, error).',
    labels: ['node', 'role', 'intent', 'outcome'],
  },
  fallbacks_total: {
    type: 'counter',
    help: 'Reads sent to the primary because no replica was eligible, by reason.',
    labels: ['reason'],
  },
  read_retries_total: {
    type: 'counter',
    help: 'Reads retried on another node after a connection-level failure.',
    labels: [],
  },
  misclassified_writes_total: {
    type: 'counter',
    help: 'Reads a replica rejected as writes (25006), run again on the primary.',
    labels: [],
  },
  stale_tokens_total: {
    type: 'counter',
    help: 'Consistency tokens replicas could not serve (another system or timeline, or not reached): read on the primary.',
    labels: [],
  },
  replay_waits_total: {
    type: 'counter',
    help: 'Synchronous mirroring waits (sync method client) started after a write; those that timed out are in mirror_timeouts_total.',
    labels: [],
  },
  mirror_timeouts_total: {
    type: 'counter',
    help: 'Synchronous mirroring waits that did not reach enough replicas in time.',
    labels: [],
  },
  unproven_reads_total: {
    type: 'counter',
    help: 'Reads sent to a replica not yet known to have replayed their token, each carrying the proof in its own flight.',
    labels: [],
  },
  unproven_reads_proven_total: {
    type: 'counter',
    help: 'Of unproven_reads_total, those whose replica proved to have replayed the token (the others ran again on the primary).',
    labels: [],
  },
  failovers_total: {
    type: 'counter',
    help: 'Failovers this process ran or saw, by outcome (completed, failed, cancelled).',
    labels: ['outcome'],
  },
  node_up: {
    type: 'gauge',
    help: 'Whether a node is healthy (1) or not (0: suspect, down, fenced or unverified), by node and role.',
    labels: ['node', 'role'],
  },
  replica_lag_bytes: {
    type: 'gauge',
    help: 'Replay lag of a replica behind the primary, in bytes of WAL, as last probed.',
    labels: ['node'],
  },
  replica_lag_seconds: {
    type: 'gauge',
    help: 'Replay lag of a replica behind the primary, in seconds, as last probed.',
    labels: ['node'],
  },
  in_flight: {
    type: 'gauge',
    help: 'Statements running on a node now, from this process.',
    labels: ['node'],
  },
  epoch: {
    type: 'gauge',
    help: 'How many times the primary changed since the cluster was created.',
    labels: [],
  },
  timeline: {
    type: 'gauge',
    help: "The primary's timeline.",
    labels: [],
  },
  info: {
    type: 'gauge',
    help: "Always 1: the cluster's system identifier and failover mode as labels.",
    labels: ['system_id', 'failover'],
  },
  statement_mirror_state: {
    type: 'gauge',
    help: 'Whether a statement mirror is in a state (1) or not (0), one series per state: in-sync, catching-up (a backlog retried after an outage), out-of-sync (stopped: needs a fresh copy).',
    labels: [...MIRROR_LABELS, 'state'],
  },
  statement_mirror_backlog_statements: {
    type: 'gauge',
    help: 'Statements committed on the primary and not yet applied on a statement mirror (durable: outbox transactions).',
    labels: MIRROR_LABELS,
  },
  statement_mirror_backlog_bytes: {
    type: 'gauge',
    help: "The size of a statement mirror's backlog, in bytes.",
    labels: MIRROR_LABELS,
  },
  statement_mirror_held_for_order: {
    type: 'gauge',
    help: 'In-memory statement mirrors: acknowledged writes held back until writes sent before them end, to be replayed in commit order.',
    labels: MIRROR_LABELS,
  },
  statement_mirror_lag_seconds: {
    type: 'gauge',
    help: 'How long the oldest write a statement mirror has not applied has waited since the primary committed it, in seconds (0 when none waits).',
    labels: MIRROR_LABELS,
  },
  statement_mirror_applied_total: {
    type: 'counter',
    help: 'Statements applied on a statement mirror.',
    labels: MIRROR_LABELS,
  },
  statement_mirror_failed_total: {
    type: 'counter',
    help: 'Replays on a statement mirror that did not apply (each retry counts).',
    labels: MIRROR_LABELS,
  },
  statement_mirror_not_applied_total: {
    type: 'counter',
    help: 'Statements a statement mirror will never apply: dropped at a backlog overflow, or after it went out of sync.',
    labels: MIRROR_LABELS,
  },
  statement_mirror_nondeterministic_total: {
    type: 'counter',
    help: 'Mirrored statements that call volatile functions (or DEFAULT), so may give the mirror other values.',
    labels: MIRROR_LABELS,
  },
  statement_mirror_sampled_reads_total: {
    type: 'counter',
    help: 'Reads also sent to a statement mirror (reads.sample) that succeeded there; their results are dropped.',
    labels: MIRROR_LABELS,
  },
  statement_mirror_sampled_read_errors_total: {
    type: 'counter',
    help: 'Reads also sent to a statement mirror (reads.sample) that failed there.',
    labels: MIRROR_LABELS,
  },
} as const satisfies Record<string, MetricDefinition>

/** One metric's shape in {@link METRICS}. */
export interface MetricDefinition {
  readonly type: 'counter' | 'gauge'
  readonly help: string
  readonly labels: readonly string[]
}

/** A metric's name without the prefix. */
export type MetricName = keyof typeof METRICS

/**
 * The full names of every exported series family, as they appear in the
 * exposition (`causeway_statements_total`…), for a given prefix.
 */
export function metricNames(prefix = 'causeway_'): string[] {
  return Object.keys(METRICS).map((name) => `${prefix}${name}`)
}
