import { loadavg } from 'node:os'
import type { Contender, ContenderKey } from '../contenders/contender.js'
import { quantile, round, Samples, type Spread, spread } from '../stats.js'
import type { Workload } from '../workloads/workload.js'
import type { BenchContext } from './bench-context.js'
import { measurePhase, type PhaseOptions, type PhaseResult } from './measure-phase.js'
import { CounterWindows } from './node-statements.js'
import type { Operation } from './operation.js'
import type { Target } from './target.js'
import type { ContenderFigures, LatencyFigures, NodeStatements, WorkloadResult } from './workload-result.js'

/** Runs one contender's turn: what `measurePhase` does for a workload of one repeated operation. */
export type TurnRunner = (contender: Contender, options: PhaseOptions) => Promise<PhaseResult>

/**
 * A workload run by every contender in turn: one repeated `operation`, or a `turn`
 * runner of its own (read-your-writes: a write, a think time, a read).
 */
export type InterleavedSpec = InterleavedBase &
  ({ readonly operation: Operation } | { readonly turn: TurnRunner })

interface InterleavedBase {
  readonly key: string
  readonly title: string
  readonly concurrency: number
  /** Who takes part; the baseline first. */
  readonly contenders: readonly ContenderKey[]
  /** `[X, Y]` pairs reported as `X/Y`. */
  readonly ratios: readonly (readonly [ContenderKey, ContenderKey])[]
  readonly targets?: readonly Target[]
  /** Rounds relative to the plan's (the overhead workload wants more). Default 1. */
  readonly repeatFactor?: number
}

/**
 * Builds a workload that gives every contender one turn per round, rotating who
 * goes first each round, so that drift (CPU frequency, another process, the
 * autovacuum) lands on every contender alike. Ratios are taken within a round,
 * between turns seconds apart, and then summarised over the rounds.
 */
export function interleavedWorkload(spec: InterleavedSpec): Workload {
  return {
    key: spec.key,
    title: spec.title,
    contenders: spec.contenders,
    run: (context) => runInterleaved(spec, context),
  }
}

async function runInterleaved(spec: InterleavedSpec, context: BenchContext): Promise<WorkloadResult> {
  const { plan, log } = context
  const keys = spec.contenders.filter((key) => context.contenders.has(key))
  const skipped: Partial<Record<ContenderKey, string>> = {}
  for (const key of spec.contenders) {
    if (!context.contenders.has(key)) skipped[key] = context.skipped.get(key) ?? 'not started'
  }
  const repeats = Math.max(1, Math.round(plan.repeats * (spec.repeatFactor ?? 1)))
  const turn: TurnRunner =
    'turn' in spec ? spec.turn : (contender, options) => measurePhase(contender.db, spec.operation, options)
  const phase = (key: ContenderKey, durationMillis: number) =>
    turn(context.contenders.get(key)!, {
      concurrency: spec.concurrency,
      durationMillis,
      primaryPort: context.addresses.primary.port,
    })

  const loadStart = loadAverage()
  log(`${spec.key}: warming up ${keys.join(', ')}`)
  for (const key of keys) await phase(key, plan.warmupMillis)
  const before = new Map(keys.map((key) => [key, context.contenders.get(key)!.counters?.()]))
  const turns = new Map<ContenderKey, PhaseResult[]>(keys.map((key) => [key, []]))
  // Counters read at the start and end of each turn: a contender's own statements
  // per second are taken over its turns only, not while the others run theirs.
  const windows = new Map(keys.map((key) => [key, new CounterWindows()]))
  for (let round = 0; round < repeats; round++) {
    const order = keys.map((_, i) => keys[(i + round) % keys.length]!)
    for (const key of order) {
      const contender = context.contenders.get(key)!
      const turnStart = performance.now()
      const counters = contender.counters?.()
      turns.get(key)!.push(await phase(key, plan.phaseMillis))
      windows.get(key)!.add(counters, contender.counters?.(), performance.now() - turnStart)
    }
    log(`${spec.key}: round ${round + 1}/${repeats} (${order.join(' ')})`)
  }

  const contenders: Partial<Record<ContenderKey, ContenderFigures>> = {}
  for (const key of keys) {
    const counters = delta(before.get(key), context.contenders.get(key)!.counters?.())
    contenders[key] = figures(context.contenders.get(key)!.label, turns.get(key)!, counters)
  }
  const nodeStatements: Partial<Record<ContenderKey, NodeStatements[]>> = {}
  for (const key of keys) {
    const counted = windows.get(key)!.nodeStatements(context.addresses)
    if (counted) nodeStatements[key] = counted
  }
  const ratios: Record<string, Spread> = {}
  const p99Ratios: Record<string, Spread> = {}
  const readRatios: Record<string, Spread> = {}
  const throughputRatios: Record<string, Spread> = {}
  const cpuRatios: Record<string, Spread> = {}
  for (const [x, y] of spec.ratios) {
    const xs = contenders[x]?.repeats
    const ys = contenders[y]?.repeats
    if (!xs || !ys) continue
    const pair = `${x}/${y}`
    const paired = (figure: (turn: ContenderFigures['repeats'][number]) => number) =>
      roundSpread(spread(xs.map((turn, i) => figure(turn) / figure(ys[i]!))))
    ratios[pair] = paired((turn) => turn.medianUs)
    p99Ratios[pair] = paired((turn) => turn.p99Us)
    if (xs[0]?.readMedianUs !== undefined) readRatios[pair] = paired((turn) => turn.readMedianUs!)
    throughputRatios[pair] = paired((turn) => turn.opsPerSec)
    cpuRatios[pair] = paired((turn) => turn.clientCpuUsPerOp)
  }
  const result: WorkloadResult = {
    key: spec.key,
    title: spec.title,
    concurrency: spec.concurrency,
    repeats,
    phaseMillis: plan.phaseMillis,
    contenders,
    ratios,
    p99Ratios,
    ...(Object.keys(readRatios).length > 0 ? { readRatios } : {}),
    throughputRatios,
    cpuRatios,
    skipped,
    loadAverage: { start: loadStart, end: loadAverage() },
    targets: [],
    ...(Object.keys(nodeStatements).length > 0 ? { nodeStatements } : {}),
  }
  return { ...result, targets: (spec.targets ?? []).map((target) => target(result)) }
}

function figures(
  label: string,
  turns: readonly PhaseResult[],
  counters: Record<string, number> | undefined,
): ContenderFigures {
  const all = new Samples()
  for (const turn of turns) all.append(turn.latencies)
  const sortedAll = all.sorted()
  const operations = sortedAll.length
  const seconds = turns.reduce((sum, turn) => sum + turn.elapsedMillis, 0) / 1000
  const reads = turns.reduce((sum, turn) => sum + turn.reads, 0)
  const replicaReads = turns.reduce((sum, turn) => sum + turn.replicaReads, 0)
  const errors = turns.reduce((sum, turn) => sum + turn.errors, 0)
  const cpuMicros = turns.reduce((sum, turn) => sum + turn.cpuMicros, 0)
  const firstError = turns.find((turn) => turn.firstError)?.firstError
  return {
    label,
    medianUs: round(quantile(sortedAll, 0.5), 1),
    p99Us: round(quantile(sortedAll, 0.99), 1),
    opsPerSec: round(operations / seconds, 0),
    replicaReadShare: reads === 0 ? undefined : round(replicaReads / reads, 4),
    clientCpuUsPerOp: round(cpuMicros / operations, 1),
    operations,
    errors,
    ...(firstError ? { firstError } : {}),
    repeats: turns.map((turn) => {
      const s = turn.latencies.sorted()
      return {
        medianUs: round(quantile(s, 0.5), 1),
        p99Us: round(quantile(s, 0.99), 1),
        opsPerSec: round(s.length / (turn.elapsedMillis / 1000), 0),
        clientCpuUsPerOp: round(turn.cpuMicros / s.length, 1),
        ...(turn.readLatencies ? { readMedianUs: round(quantile(turn.readLatencies.sorted(), 0.5), 1) } : {}),
      }
    }),
    ...(counters ? { counters } : {}),
    ...writeFigures(turns),
  }
}

/**
 * The writes and stale reads of read-your-writes turns, and the reads of web
 * requests; nothing for other turns.
 */
function writeFigures(
  turns: readonly PhaseResult[],
): Pick<ContenderFigures, 'writes' | 'reads' | 'staleReads'> {
  if (!turns.some((turn) => turn.writeLatencies)) return {}
  const reads = latencyFigures(turns.map((turn) => turn.readLatencies))
  return {
    writes: latencyFigures(turns.map((turn) => turn.writeLatencies))!,
    ...(reads ? { reads } : {}),
    staleReads: turns.reduce((sum, turn) => sum + (turn.staleReads ?? 0), 0),
  }
}

function latencyFigures(samples: readonly (Samples | undefined)[]): LatencyFigures | undefined {
  if (!samples.some(Boolean)) return undefined
  const all = new Samples()
  for (const s of samples) if (s) all.append(s)
  const s = all.sorted()
  return { medianUs: round(quantile(s, 0.5), 1), p99Us: round(quantile(s, 0.99), 1), operations: s.length }
}

function delta(
  before: Readonly<Record<string, number>> | undefined,
  after: Readonly<Record<string, number>> | undefined,
): Record<string, number> | undefined {
  if (!after) return undefined
  return Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (before?.[key] ?? 0)]))
}

function loadAverage(): number {
  return round(loadavg()[0] ?? 0, 2)
}

function roundSpread(s: Spread): Spread {
  return { median: round(s.median, 4), min: round(s.min, 4), max: round(s.max, 4) }
}
