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
    /** `web-c16` only: the turn's median read latency (`medianUs` is then the request's). */
    readonly readMedianUs?: number
  }[]
  /** What the contender counted about itself during the workload (Causeway's routing counters). */
  readonly counters?: Readonly<Record<string, number>>
  /**
   * Read-your-writes workloads only: the writes, each followed by a read of its row
   * (`medianUs`, `p99Us`, `opsPerSec` and `operations` above are then the reads).
   */
  readonly writes?: LatencyFigures
  /**
   * `web-c16` only: every read of every request (`medianUs`, `p99Us`, `opsPerSec`
   * and `operations` above are then the whole requests).
   */
  readonly reads?: LatencyFigures
  /** Read-your-writes workloads only: reads that missed the session's own write (row missing or wrong). */
  readonly staleReads?: number
}

/** The latency of one kind of statement within a composite operation, in µs. */
export interface LatencyFigures {
  readonly medianUs: number
  readonly p99Us: number
  readonly operations: number
}

/**
 * What a Causeway contender sent to one node during its own turns (or, at idle,
 * during the idle window), from `cluster.status().nodes`: statements it sent on its
 * own (probes, token captures, replay polls), and app reads that carried a
 * replay-position check in their own flight (and how many of those found the
 * server behind the token).
 */
export interface NodeStatements {
  readonly node: string
  readonly role: 'primary' | 'replica'
  /** The time the counts were taken over. */
  readonly seconds: number
  readonly ownStatements: number
  readonly freshnessChecks: number
  readonly freshnessMisses: number
  readonly ownStatementsPerSecond: number
  readonly freshnessChecksPerSecond: number
  readonly freshnessMissesPerSecond: number
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
  /** Per pair `X/Y`: X's p99 latency over Y's, turn by turn. */
  readonly p99Ratios: Readonly<Record<string, Spread>>
  /** `web-c16` only, per pair `X/Y`: X's median read latency over Y's, turn by turn. */
  readonly readRatios?: Readonly<Record<string, Spread>>
  /** Per pair `X/Y`: X's throughput over Y's, turn by turn. Above 1: X is faster. */
  readonly throughputRatios: Readonly<Record<string, Spread>>
  /** Per pair `X/Y`: X's client CPU per operation over Y's, turn by turn. */
  readonly cpuRatios: Readonly<Record<string, Spread>>
  readonly skipped: Partial<Record<ContenderKey, string>>
  /** The machine's 1-minute load average before and after; above the core count, expect wide spreads. */
  readonly loadAverage: { readonly start: number; readonly end: number }
  readonly targets: readonly TargetOutcome[]
  /**
   * Per Causeway contender (D, D0, Ds), per node: its own statements and freshness
   * checks, counted over that contender's turns only and divided by their length.
   */
  readonly nodeStatements?: Partial<Record<ContenderKey, readonly NodeStatements[]>>
  /** The idle workload only: how long D sat with no traffic (`nodeStatements.D` holds the counts). */
  readonly idle?: { readonly seconds: number; readonly settleSeconds: number }
  /** Failover workloads only (they have no contenders): the timings of each trial. */
  readonly failover?: FailoverFigures
  /** `failover-patroni` only: each trial under Patroni, by how the leader changed. */
  readonly patroni?: PatroniFailoverFigures
}

/** The comparison fields of a workload that runs no contenders (idle, failover trials): all empty. */
export const NO_CONTENDERS = {
  contenders: {},
  ratios: {},
  p99Ratios: {},
  throughputRatios: {},
  cpuRatios: {},
  skipped: {},
} as const satisfies Partial<WorkloadResult>

/** One failover trial: a fresh cluster, a writer loop, the primary killed. Times in ms from the kill. */
export interface FailoverTrialResult {
  /** From just before the SIGKILL to the end of the first write that succeeded after it. */
  readonly killToFirstWriteMs: number | undefined
  /** `follow`: from the outside promotion's end (the new primary writable) to that write. */
  readonly promotionToFirstWriteMs?: number
  /** `follow`: when the outside promotion was done. */
  readonly promotedAtMs?: number
  /** When Causeway emitted `failover-started` / `failover-completed` / `primary-changed`. */
  readonly events: Readonly<Record<string, number>>
  /** The node the first write after the kill went to. */
  readonly newPrimary: string | undefined
  /** Writes that succeeded before the kill (the loop was running). */
  readonly writesBefore: number
  /** Failed writes between the kill and the first success, by `error.code`. */
  readonly errors: Readonly<Record<string, number>>
  /** Why the trial produced no figure (no write within the time limit, or a harness error). */
  readonly failure?: string
}

/** A failover workload's figures: every trial, and the spreads over the trials that produced a write. */
export interface FailoverFigures {
  readonly mode: 'follow' | 'auto'
  readonly trials: readonly FailoverTrialResult[]
  readonly killToFirstWriteMs: Spread | undefined
  readonly promotionToFirstWriteMs?: Spread
  /** Failed writes over every trial, by `error.code`. */
  readonly errors: Readonly<Record<string, number>>
}

/**
 * One leader change under Patroni: a fresh Patroni cluster, a writer loop through
 * `CausewayDialect` (`failover: 'follow'`), a switchover or a killed leader. Times
 * in ms; undefined where the trial failed before it could measure.
 */
export interface PatroniTrialResult {
  readonly change: 'switchover' | 'kill'
  readonly oldLeader: string | undefined
  readonly newLeader: string | undefined
  /** Who `/cluster` names as leader when the trial counts the acknowledged writes. */
  readonly finalLeader: string | undefined
  /** From the switchover request (or the SIGKILL) to the poll of `/cluster` that first named the new leader. */
  readonly namedAtMs: number | undefined
  /** From the same start to the poll that first showed the new leader `running`. */
  readonly runningAtMs: number | undefined
  /** From that first naming to the end of the first write the new leader acknowledged: the figure. */
  readonly namedToFirstWriteMs: number | undefined
  /** Writes acknowledged before the change (the loop was running). */
  readonly writesBefore: number
  /** Writes acknowledged over the whole trial. */
  readonly acknowledged: number
  /** Acknowledged writes the final leader does not have: must be 0. */
  readonly lost: number | undefined
  /** Writes the old leader acknowledged after `/cluster` named the new one: must be 0. */
  readonly toOldLeaderAfterNamed: number | undefined
  /** Writes acknowledged after the new leader ran, on a timeline other than its own: must be 0. */
  readonly onOldTimelineAfterRunning: number | undefined
  /** Failed writes over the trial, by `error.code`. */
  readonly errors: Readonly<Record<string, number>>
  /** Why the trial produced no figure. */
  readonly failure?: string
}

/** `failover-patroni`'s figures: every trial of each change, or why none ran. */
export interface PatroniFailoverFigures {
  /** Set when patroni, etcd or PostgreSQL 15 is missing: the reason, and no trial ran. */
  readonly skipped?: string
  readonly trials: readonly PatroniTrialResult[]
  /** Per change, over the trials that wrote to the new leader: Patroni naming it → first write. */
  readonly namedToFirstWriteMs: Partial<Record<'switchover' | 'kill', Spread>>
  /** Over every trial: acknowledged writes lost, and acknowledged by the old leader after it was named away. */
  readonly lost: number
  readonly toOldLeaderAfterNamed: number
  readonly errors: Readonly<Record<string, number>>
}
