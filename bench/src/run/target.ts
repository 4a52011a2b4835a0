import type { ContenderKey } from '../contenders/contender.js'
import type { Spread } from '../stats.js'
import type { TargetOutcome, WorkloadResult } from './workload-result.js'

/** A target a workload checks on its own result. */
export type Target = (result: WorkloadResult) => TargetOutcome

/**
 * "Median latency ratio `pair` (the median over the turns) is at most `bound`",
 * or below it when `strict`. Skipped when either side did not run.
 */
export function latencyRatioTarget(pair: string, bound: number, target: string, strict = false): Target {
  return ratioTarget('ratios', 'median latency', pair, bound, target, strict ? '<' : '≤')
}

/** "p99 latency ratio `pair` (per round, the median over the rounds) is at most `bound`". */
export function p99RatioTarget(pair: string, bound: number, target: string): Target {
  return ratioTarget('p99Ratios', 'p99 latency', pair, bound, target, '≤')
}

/** "Throughput ratio `pair` (per round, the median over the rounds) is at least `bound`". */
export function throughputRatioTarget(pair: string, bound: number, target: string): Target {
  return ratioTarget('throughputRatios', 'throughput', pair, bound, target, '≥')
}

function ratioTarget(
  figure: 'ratios' | 'p99Ratios' | 'throughputRatios',
  name: string,
  pair: string,
  bound: number,
  target: string,
  comparison: '<' | '≤' | '≥',
): Target {
  return (result) => {
    const ratio: Spread | undefined = result[figure][pair]
    if (!ratio) {
      const [x, y] = pair.split('/') as [ContenderKey, ContenderKey]
      const reason = result.skipped[x] ?? result.skipped[y] ?? 'not measured'
      return { target, status: 'SKIP', detail: `${pair}: ${reason}` }
    }
    const pass =
      comparison === '<'
        ? ratio.median < bound
        : comparison === '≤'
          ? ratio.median <= bound
          : ratio.median >= bound
    return {
      target,
      status: pass ? 'PASS' : 'MISS',
      detail:
        `${pair} ${name} ${ratio.median.toFixed(3)} (min ${ratio.min.toFixed(3)}, max ${ratio.max.toFixed(3)})` +
        ` ${comparison} ${bound}`,
    }
  }
}

/** "`contender` read no row that missed its session's own write". */
export function noStaleReadsTarget(key: string, contender: ContenderKey): Target {
  const target = `${key}: ${contender} has 0 stale reads`
  return (result) => {
    const figures = result.contenders[contender]
    if (!figures) return { target, status: 'SKIP', detail: result.skipped[contender] ?? 'not measured' }
    const stale = figures.staleReads ?? 0
    const reads = figures.reads?.operations ?? figures.operations
    return {
      target,
      status: stale === 0 ? 'PASS' : 'MISS',
      detail: `${stale.toLocaleString('en-US')} stale of ${reads.toLocaleString('en-US')} reads`,
    }
  }
}

/** "`contender` serves at least `bound` (0–1) of its reads from replicas". */
export function replicaShareTarget(key: string, contender: ContenderKey, bound: number): Target {
  const percent = `${round2(bound * 100)}%`
  const target = `${key}: ≥ ${percent} of ${contender}'s reads on replicas`
  return (result) => {
    const share = result.contenders[contender]?.replicaReadShare
    if (share === undefined)
      return { target, status: 'SKIP', detail: result.skipped[contender] ?? 'not measured' }
    return {
      target,
      status: share >= bound ? 'PASS' : 'MISS',
      detail: `${(share * 100).toFixed(1)}% of reads on replicas ≥ ${percent}`,
    }
  }
}

/**
 * "`contender` sends each replica at most `bound` statements per second of its own"
 * (probes, captures, polls; not the freshness checks that ride with app reads),
 * counted over the contender's turns (at idle: the idle window).
 */
export function ownStatementsTarget(
  key: string,
  contender: ContenderKey,
  bound: number,
  target: string,
): Target {
  return (result) => {
    const nodes = result.nodeStatements?.[contender]
    const replicas = nodes?.filter((node) => node.role === 'replica') ?? []
    if (replicas.length === 0)
      return { target, status: 'SKIP', detail: result.skipped[contender] ?? `${key}: not counted` }
    const worst = Math.max(...replicas.map((node) => node.ownStatementsPerSecond))
    const rates = nodes!.map(
      (node) => `${node.node} (${node.role}) ${node.ownStatementsPerSecond.toFixed(1)}/s`,
    )
    return {
      target,
      status: worst <= bound ? 'PASS' : 'MISS',
      detail: `${contender}'s own statements ${rates.join(', ')}; per replica ≤ ${bound}/s`,
    }
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}
