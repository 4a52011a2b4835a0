import type { ContenderKey } from '../contenders/contender.js'
import type { Spread } from '../stats.js'

/** One contender's figures in one workload, over all its turns. */
export interface ContenderFigures {
  readonly label: string
  readonly medianUs: number
  readonly p99Us: number
  readonly opsPerSec: number
  /** Reads served by a replica, 0–1; undefined for a workload without reads. */
  readonly replicaReadShare: number | undefined
  /**
   * CPU time of the bench process per operation, in µs: the client-side cost of the
   * stack (Kysely, the router, pg), much steadier than latency on a shared machine.
   */
  readonly clientCpuUsPerOp: number
  readonly operations: number
  readonly errors: number
  readonly firstError?: string
  /** Each turn's own figures, in order. */
  readonly repeats: readonly {
    readonly medianUs: number
    readonly p99Us: number
    readonly opsPerSec: number
    readonly clientCpuUsPerOp: number
  }[]
  /** What the contender counted about itself during the workload (Causeway's routing counters). */
  readonly counters?: Readonly<Record<string, number>>
}

/** A target's verdict. */
export interface TargetOutcome {
  readonly target: string
  readonly status: 'PASS' | 'MISS' | 'SKIP'
  readonly detail: string
}

/** What a workload reports, as written to `latest.json` under its key. */
export interface WorkloadResult {
  readonly key: string
  readonly title: string
  readonly concurrency: number
  readonly repeats: number
  readonly phaseMillis: number
  readonly contenders: Partial<Record<ContenderKey, ContenderFigures>>
  /** Per pair `X/Y`: X's median latency over Y's, turn by turn (paired within a round). Below 1: X is faster. */
  readonly ratios: Readonly<Record<string, Spread>>
  /** Per pair `X/Y`: X's throughput over Y's, turn by turn. Above 1: X is faster. */
  readonly throughputRatios: Readonly<Record<string, Spread>>
  /** Per pair `X/Y`: X's client CPU per operation over Y's, turn by turn. */
  readonly cpuRatios: Readonly<Record<string, Spread>>
  readonly skipped: Partial<Record<ContenderKey, string>>
  /** The machine's 1-minute load average before and after; above the core count, expect wide spreads. */
  readonly loadAverage: { readonly start: number; readonly end: number }
  readonly targets: readonly TargetOutcome[]
}
