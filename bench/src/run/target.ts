import type { TargetOutcome, WorkloadResult } from './workload-result.js'

/** A target a workload checks on its own result. */
export type Target = (result: WorkloadResult) => TargetOutcome

/**
 * "Median latency ratio `pair` (the median over the turns) is at most `bound`",
 * or below it when `strict`. Skipped when either side did not run.
 */
export function latencyRatioTarget(pair: string, bound: number, target: string, strict = false): Target {
  return (result) => {
    const ratio = result.ratios[pair]
    if (!ratio) {
      const [x, y] = pair.split('/') as [keyof WorkloadResult['skipped'], keyof WorkloadResult['skipped']]
      const reason = result.skipped[x] ?? result.skipped[y] ?? 'not measured'
      return { target, status: 'SKIP', detail: `${pair}: ${reason}` }
    }
    const pass = strict ? ratio.median < bound : ratio.median <= bound
    return {
      target,
      status: pass ? 'PASS' : 'MISS',
      detail:
        `${pair} median latency ${ratio.median.toFixed(3)} (min ${ratio.min.toFixed(3)}, max ${ratio.max.toFixed(3)})` +
        ` ${strict ? '<' : '≤'} ${bound}`,
    }
  }
}
