import { loadavg } from 'node:os'
import { patroniAvailable } from '@causeway/testing'
import { type PatroniChange, patroniTrial } from '../run/patroni-trial.js'
import {
  NO_CONTENDERS,
  type PatroniFailoverFigures,
  type PatroniTrialResult,
  type TargetOutcome,
} from '../run/workload-result.js'
import { median, round, type Spread, spread } from '../stats.js'
import type { Workload } from './workload.js'

/** Trials per change: each starts a Patroni cluster of its own (about 7 s, and 5 s more to stop it). */
export const PATRONI_TRIALS = 3
export const PATRONI_TRIALS_QUICK = 1

const KEY = 'failover-patroni'
const TITLE =
  "failover: 'follow' under Patroni (etcd, 3 members, PostgreSQL 15): a switchover and a killed leader, " +
  'time from Patroni naming the new leader to the first write on it'
const CHANGES: readonly PatroniChange[] = ['switchover', 'kill']
const BOUND_MILLIS = 1_000
const TIME_TARGET = (change: PatroniChange) =>
  `failover-patroni (${change === 'kill' ? 'killed leader' : 'switchover'}): first write ≤ 1 s after Patroni names the new leader (median)`
const LOSS_TARGET = 'failover-patroni: 0 acknowledged writes lost, 0 acknowledged by the demoted leader'

/**
 * Causeway following leader changes that Patroni makes (issue 11): per change
 * (a switchover through Patroni's REST API, then the leader SIGKILLed), 3 trials
 * (1 with `--quick`), each on a fresh Patroni cluster (see `patroniTrial`). Skipped,
 * with the reason in the results, when patroni, etcd or PostgreSQL 15 is missing.
 */
export const failoverPatroniWorkload: Workload = {
  key: KEY,
  title: TITLE,
  contenders: [],
  needsCauseway: true,
  run: async (context) => {
    if (!context.causeway) throw new Error(`${KEY} needs Causeway loaded`)
    const loadStart = round(loadavg()[0] ?? 0, 2)
    const availability = patroniAvailable()
    const trials: PatroniTrialResult[] = []
    let patroni: PatroniFailoverFigures
    let targets: TargetOutcome[]
    if (!availability.ok) {
      context.log(`${KEY}: skipped: ${availability.reason}`)
      patroni = {
        skipped: availability.reason,
        trials,
        namedToFirstWriteMs: {},
        lost: 0,
        toOldLeaderAfterNamed: 0,
        errors: {},
      }
      targets = [...CHANGES.map(TIME_TARGET), LOSS_TARGET].map((target) => ({
        target,
        status: 'SKIP',
        detail: availability.reason,
      }))
    } else {
      const count = context.quick ? PATRONI_TRIALS_QUICK : PATRONI_TRIALS
      for (const change of CHANGES) {
        for (let i = 0; i < count; i++) {
          const trial = await patroniTrial(context.causeway, change, context.adopt)
          trials.push(trial)
          context.log(
            `${KEY} (${change}): trial ${i + 1}/${count}: ` +
              (trial.failure ??
                `${trial.oldLeader} → ${trial.newLeader}, first write ${trial.namedToFirstWriteMs} ms after ` +
                  `Patroni named it; lost ${trial.lost}, to the old leader ${trial.toOldLeaderAfterNamed}`),
          )
        }
      }
      patroni = summarise(trials)
      targets = [...CHANGES.map((change) => judgeTime(change, trials)), judgeLoss(trials)]
    }
    return {
      key: KEY,
      title: TITLE,
      concurrency: 1,
      repeats: trials.length,
      phaseMillis: 0,
      ...NO_CONTENDERS,
      loadAverage: { start: loadStart, end: round(loadavg()[0] ?? 0, 2) },
      targets,
      patroni,
    }
  },
}

function summarise(trials: readonly PatroniTrialResult[]): PatroniFailoverFigures {
  const namedToFirstWriteMs: Partial<Record<PatroniChange, Spread>> = {}
  for (const change of CHANGES) {
    const values = trials
      .filter((t) => t.change === change)
      .map((t) => t.namedToFirstWriteMs)
      .filter((v): v is number => v !== undefined)
    if (values.length > 0) namedToFirstWriteMs[change] = spread(values)
  }
  const errors: Record<string, number> = {}
  for (const trial of trials) {
    for (const [code, n] of Object.entries(trial.errors)) errors[code] = (errors[code] ?? 0) + n
  }
  const sum = (pick: (t: PatroniTrialResult) => number | undefined) =>
    trials.reduce((total, t) => total + (pick(t) ?? 0), 0)
  return {
    trials,
    namedToFirstWriteMs,
    lost: sum((t) => t.lost),
    toOldLeaderAfterNamed: sum((t) => t.toOldLeaderAfterNamed),
    errors,
  }
}

function judgeTime(change: PatroniChange, all: readonly PatroniTrialResult[]): TargetOutcome {
  const trials = all.filter((t) => t.change === change)
  // A trial without a write is the slowest of all.
  const values = trials.map((t) => t.namedToFirstWriteMs ?? Number.POSITIVE_INFINITY)
  const m = median(values)
  return {
    target: TIME_TARGET(change),
    status: m <= BOUND_MILLIS ? 'PASS' : 'MISS',
    detail:
      `median ${Number.isFinite(m) ? `${m.toFixed(0)} ms` : 'none'} ≤ ${BOUND_MILLIS} ms ` +
      `(${values.map((v) => (Number.isFinite(v) ? v.toFixed(0) : '–')).join(', ')} ms)`,
  }
}

function judgeLoss(trials: readonly PatroniTrialResult[]): TargetOutcome {
  // A trial that could not count (it failed first) cannot pass.
  const counted = trials.filter((t) => t.lost !== undefined && t.toOldLeaderAfterNamed !== undefined)
  const lost = counted.reduce((n, t) => n + t.lost!, 0)
  const toOld = counted.reduce((n, t) => n + t.toOldLeaderAfterNamed!, 0)
  const acknowledged = counted.reduce((n, t) => n + t.acknowledged, 0)
  const ok = counted.length === trials.length && lost === 0 && toOld === 0
  return {
    target: LOSS_TARGET,
    status: ok ? 'PASS' : 'MISS',
    detail:
      `${lost} of ${acknowledged} acknowledged writes lost, ${toOld} acknowledged by the old leader after ` +
      `Patroni named the new one (${counted.length} of ${trials.length} trials counted)`,
  }
}
