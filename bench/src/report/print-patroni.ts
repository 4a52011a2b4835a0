import type { WorkloadResult } from '../run/workload-result.js'
import { printColumns } from './columns.js'
import { formatErrors, formatSpread } from './print-failover.js'

/** Prints `failover-patroni`: one row per trial (ms from the change), then the medians and the write counts. */
export function printPatroni(result: WorkloadResult, print: (line: string) => void): void {
  const figures = result.patroni
  if (!figures) return
  if (figures.skipped) {
    print(`  skipped: ${figures.skipped}`)
    return
  }
  print(
    `  ${figures.trials.length} trials, each on a fresh Patroni cluster; ms from the switchover request or the kill; ` +
      `load average ${result.loadAverage.start} → ${result.loadAverage.end}`,
  )
  const ms = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(0))
  const n = (value: number | undefined) => (value === undefined ? '–' : String(value))
  const rows: string[][] = [
    [
      'trial',
      'change',
      'named',
      'running',
      'named→write',
      'leader',
      'acked',
      'lost',
      'to old leader',
      'old timeline',
      'failed writes',
    ],
  ]
  figures.trials.forEach((trial, i) => {
    rows.push([
      String(i + 1),
      trial.change,
      ms(trial.namedAtMs),
      ms(trial.runningAtMs),
      ms(trial.namedToFirstWriteMs),
      trial.failure ? `none: ${trial.failure}` : `${trial.oldLeader} → ${trial.newLeader}`,
      n(trial.acknowledged),
      n(trial.lost),
      n(trial.toOldLeaderAfterNamed),
      n(trial.onOldTimelineAfterRunning),
      formatErrors(trial.errors),
    ])
  })
  printColumns(rows, [true, false, true, true, true, false, true, true, true, true, false], print)
  print('')
  print(`  named → first write, switchover:    ${formatSpread(figures.namedToFirstWriteMs.switchover)}`)
  print(`  named → first write, killed leader: ${formatSpread(figures.namedToFirstWriteMs.kill)}`)
  print(
    `  acknowledged writes lost: ${figures.lost}; acknowledged by the old leader after the change: ${figures.toOldLeaderAfterNamed}`,
  )
  print(`  failed writes, all trials: ${formatErrors(figures.errors)}`)
}
