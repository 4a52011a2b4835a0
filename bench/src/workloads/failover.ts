import { loadavg } from 'node:os'
import { failoverTrial } from '../run/failover-trial.js'
import {
  type FailoverFigures,
  type FailoverTrialResult,
  NO_CONTENDERS,
  type TargetOutcome,
  type WorkloadResult,
} from '../run/workload-result.js'
import { median, round, spread } from '../stats.js'
import type { Workload } from './workload.js'

/** Trials per mode: each needs a cluster of its own. */
export const FAILOVER_TRIALS = 5
export const FAILOVER_TRIALS_QUICK = 2

const MODES = {
  follow: {
    title: "failover: 'follow': kill the primary, promote pg2 outside the library, time to the first write",
    figure: 'promotionToFirstWriteMs',
    bound: 1_000,
    target: 'failover-follow: first write ≤ 1 s after the outside promotion (median)',
  },
  auto: {
    title:
      "failover: 'auto' (default health and failover settings): kill the primary, time to the first write",
    figure: 'killToFirstWriteMs',
    bound: 3_000,
    target: 'failover-auto: first write ≤ 3 s after the kill (median)',
  },
} as const

/**
 * Time from killing the primary to the first successful write (issue 4), in
 * `follow` mode (measured from the outside promotion's end too) and in `auto` mode.
 * Not an interleaved comparison: each trial starts a fresh cluster, runs one writer
 * loop over a `CausewayDialect`, kills pg1, and closes everything (see
 * `failoverTrial`). The target is judged on the median over the trials, a trial
 * without a write counting as the slowest.
 */
export function failoverWorkload(mode: 'follow' | 'auto'): Workload {
  const spec = MODES[mode]
  const key = `failover-${mode}`
  return {
    key,
    title: spec.title,
    contenders: [],
    needsCauseway: true,
    run: async (context) => {
      if (!context.causeway) throw new Error(`${key} needs Causeway loaded`)
      const loadStart = round(loadavg()[0] ?? 0, 2)
      const count = context.quick ? FAILOVER_TRIALS_QUICK : FAILOVER_TRIALS
      const trials: FailoverTrialResult[] = []
      for (let i = 0; i < count; i++) {
        const trial = await failoverTrial(context.causeway, mode, context.adopt)
        trials.push(trial)
        context.log(
          `${key}: trial ${i + 1}/${count}: ` +
            (trial.failure ??
              `first write ${trial.killToFirstWriteMs} ms after the kill, on ${trial.newPrimary}`),
        )
      }
      const figures = summarise(mode, trials)
      const result: WorkloadResult = {
        key,
        title: spec.title,
        concurrency: 1,
        repeats: count,
        phaseMillis: 0,
        ...NO_CONTENDERS,
        loadAverage: { start: loadStart, end: round(loadavg()[0] ?? 0, 2) },
        targets: [judge(trials, spec)],
        failover: figures,
      }
      return result
    },
  }
}

function summarise(mode: 'follow' | 'auto', trials: readonly FailoverTrialResult[]): FailoverFigures {
  const values = (pick: (t: FailoverTrialResult) => number | undefined) =>
    trials.map(pick).filter((v): v is number => v !== undefined)
  const spreadOf = (list: number[]) => (list.length === 0 ? undefined : spread(list))
  const errors: Record<string, number> = {}
  for (const trial of trials) {
    for (const [code, n] of Object.entries(trial.errors)) errors[code] = (errors[code] ?? 0) + n
  }
  const promotion = spreadOf(values((t) => t.promotionToFirstWriteMs))
  return {
    mode,
    trials,
    killToFirstWriteMs: spreadOf(values((t) => t.killToFirstWriteMs)),
    ...(mode === 'follow' && promotion ? { promotionToFirstWriteMs: promotion } : {}),
    errors,
  }
}

function judge(
  trials: readonly FailoverTrialResult[],
  spec: (typeof MODES)[keyof typeof MODES],
): TargetOutcome {
  // A trial without a write is the slowest of all.
  const values = trials.map((t) => t[spec.figure] ?? Number.POSITIVE_INFINITY)
  const wrote = trials.filter((t) => t[spec.figure] !== undefined).length
  const m = median(values)
  return {
    target: spec.target,
    status: m <= spec.bound ? 'PASS' : 'MISS',
    detail:
      `median ${Number.isFinite(m) ? `${m.toFixed(0)} ms` : 'none'} ≤ ${spec.bound} ms ` +
      `(${wrote} of ${trials.length} trials wrote; ${values.map((v) => (Number.isFinite(v) ? v.toFixed(0) : '–')).join(', ')} ms)`,
  }
}
