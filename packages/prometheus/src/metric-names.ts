/**
 * Every metric the adapter exports, by its name without the prefix (`causeway_`
 * by default), with its type and the labels it carries besides `cluster` (which
 * every metric gets when the registration has a `name`). None of these labels
 * can hold statement text: their values are node names from the config, roles,
 * intents and fixed reason words.
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
