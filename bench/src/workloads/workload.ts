import type { ContenderKey } from '../contenders/contender.js'
import type { BenchContext } from '../run/bench-context.js'
import type { WorkloadResult } from '../run/workload-result.js'

/**
 * One benchmark workload, keyed by the short name it has in `latest.json`. Most are
 * built with `interleavedWorkload`; a workload that measures something else (a
 * failover's downtime, say) implements `run` itself.
 */
export interface Workload {
  readonly key: string
  readonly title: string
  /** The contenders it needs started. */
  readonly contenders: readonly ContenderKey[]
  /** Needs `@causeway/kysely` loaded though it starts no contender (the failover workloads). */
  readonly needsCauseway?: boolean
  run(context: BenchContext): Promise<WorkloadResult>
}

/** The ratios of a read workload run by every contender: each against the baseline, and D against each. */
export const READ_RATIOS: readonly (readonly [ContenderKey, ContenderKey])[] = [
  ['B', 'A'],
  ['C', 'A'],
  ['D', 'A'],
  ['D', 'B'],
  ['D', 'C'],
]
