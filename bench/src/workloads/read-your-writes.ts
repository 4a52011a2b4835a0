import type { ContenderKey } from '../contenders/contender.js'
import { RAILS_DELAY_MILLIS } from '../contenders/rails-policy.js'
import { interleavedWorkload } from '../run/interleaved-workload.js'
import { rywTurn } from '../run/ryw-turn.js'
import type { Target } from '../run/target.js'
import type { Workload } from './workload.js'

/** Concurrent sessions, each writing then reading its own rows. */
export const RYW_SESSIONS = 16

/** The share of reads on replicas that D must reach once the think time exceeds the replication delay. */
export const RYW_REPLICA_SHARE_TARGET = 0.9

/**
 * Read-your-writes (issue 6): 16 sessions, each looping "insert a row, wait
 * `thinkMillis`, read it back by id". A, plain Kysely on the primary, is never
 * stale and never on a replica; B, kysely-replication, reads replicas whatever they
 * have (its stale reads are counted); R sends a session's reads to the primary for
 * 2 s after its last write, as Rails does; D is Causeway with its defaults, each
 * worker's loop in one `cluster.session()`.
 *
 * Targets: D has no stale read; and when the think time exceeds the replication
 * delay (`replicaTarget`), D serves at least 90% of the reads from replicas.
 */
export function readYourWritesWorkload(thinkMillis: number, replicaTarget: boolean): Workload {
  const key = `ryw-think${thinkMillis === 0 ? '0' : `${thinkMillis}ms`}`
  const targets: Target[] = [noStaleReads(key, 'D')]
  if (replicaTarget) targets.push(replicaShare(key, 'D', RYW_REPLICA_SHARE_TARGET))
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

function noStaleReads(key: string, contender: ContenderKey): Target {
  const target = `${key}: ${contender} has no stale read`
  return (result) => {
    const figures = result.contenders[contender]
    if (!figures) return { target, status: 'SKIP', detail: result.skipped[contender] ?? 'not measured' }
    const stale = figures.staleReads ?? 0
    return {
      target,
      status: stale === 0 ? 'PASS' : 'MISS',
      detail: `${stale.toLocaleString('en-US')} stale of ${figures.operations.toLocaleString('en-US')} reads`,
    }
  }
}

function replicaShare(key: string, contender: ContenderKey, bound: number): Target {
  const target = `${key}: ${contender} serves ≥ ${bound * 100}% of reads from replicas`
  return (result) => {
    const share = result.contenders[contender]?.replicaReadShare
    if (share === undefined)
      return { target, status: 'SKIP', detail: result.skipped[contender] ?? 'not measured' }
    return {
      target,
      status: share >= bound ? 'PASS' : 'MISS',
      detail: `${(share * 100).toFixed(1)}% of reads on replicas ≥ ${bound * 100}%`,
    }
  }
}
