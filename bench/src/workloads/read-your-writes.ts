import { RAILS_DELAY_MILLIS } from '../contenders/rails-policy.js'
import { interleavedWorkload } from '../run/interleaved-workload.js'
import { rywTurn } from '../run/ryw-turn.js'
import {
  latencyRatioTarget,
  noStaleReadsTarget,
  ownStatementsTarget,
  p99RatioTarget,
  replicaShareTarget,
  type Target,
  throughputRatioTarget,
} from '../run/target.js'
import type { Workload } from './workload.js'

/** Concurrent sessions, each writing then reading its own rows. */
export const RYW_SESSIONS = 16

/**
 * Statements Causeway may send each replica per second on its own (probes,
 * captures, polls), per app process, under a read-your-writes workload (issue 9).
 */
export const RYW_OWN_STATEMENTS_PER_REPLICA = 10

/** Issue 9's bounds for one think time; a bound left out is not a target there. */
export interface RywGoals {
  /** D/R median read latency, at most. */
  readonly p50: number
  /** D/R p99 read latency, at most. */
  readonly p99?: number
  /** D/R reads per second, at least. */
  readonly throughput?: number
  /** D's share of reads on replicas, at least (0–1). */
  readonly replicaShare?: number
}

/**
 * Read-your-writes (issues 6 and 9): 16 sessions, each looping "insert a row, wait
 * `thinkMillis`, read it back by id". A, plain Kysely on the primary, is never
 * stale and never on a replica; B, kysely-replication, reads replicas whatever they
 * have (its stale reads are counted); R sends a session's reads to the primary for
 * 2 s after its last write, as Rails does; D is Causeway with its defaults, each
 * worker's loop in one `cluster.session()`.
 *
 * Targets: D has 0 stale reads and the read-latency and throughput ratios against R
 * in `goals`, and sends each replica at most 10 statements a second of its own.
 */
export function readYourWritesWorkload(thinkMillis: number, goals: RywGoals): Workload {
  const key = `ryw-think${thinkMillis === 0 ? '0' : `${thinkMillis}ms`}`
  const targets: Target[] = [
    latencyRatioTarget('D/R', goals.p50, `${key}: D/R read latency ≤ ${goals.p50.toFixed(2)} (p50)`),
  ]
  if (goals.p99 !== undefined)
    targets.push(p99RatioTarget('D/R', goals.p99, `${key}: D/R read latency ≤ ${goals.p99} (p99)`))
  if (goals.throughput !== undefined)
    targets.push(throughputRatioTarget('D/R', goals.throughput, `${key}: reads/s ≥ ${goals.throughput}× R`))
  if (goals.replicaShare !== undefined) targets.push(replicaShareTarget(key, 'D', goals.replicaShare))
  targets.push(
    noStaleReadsTarget(key, 'D'),
    ownStatementsTarget(
      key,
      'D',
      RYW_OWN_STATEMENTS_PER_REPLICA,
      `${key}: ≤ ${RYW_OWN_STATEMENTS_PER_REPLICA} own statements per replica per second (D, one process)`,
    ),
  )
  return interleavedWorkload({
    key,
    title:
      `read-your-writes: ${RYW_SESSIONS} sessions each insert a row, ` +
      `${thinkMillis === 0 ? 'then at once' : `wait ${thinkMillis} ms, then`} read it back by id ` +
      `(R: primary for ${RAILS_DELAY_MILLIS / 1000} s after a write)`,
    concurrency: RYW_SESSIONS,
    contenders: ['A', 'B', 'R', 'D'],
    ratios: [
      ['B', 'A'],
      ['R', 'A'],
      ['D', 'A'],
      ['D', 'B'],
      ['D', 'R'],
    ],
    turn: rywTurn(thinkMillis),
    targets,
  })
}
