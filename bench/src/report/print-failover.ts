import type { WorkloadResult } from '../run/workload-result.js'
import type { Spread } from '../stats.js'
import { printColumns } from './columns.js'

/** Prints a failover workload: one row per trial (ms from the kill), then the medians. */
export function printFailover(result: WorkloadResult, print: (line: string) => void): void {
  const figures = result.failover
  if (!figures) return
  print(
    `  ${figures.trials.length} trials, each on a fresh cluster; ms from the kill; ` +
      `load average ${result.loadAverage.start} → ${result.loadAverage.end}`,
  )
  const follow = figures.mode === 'follow'
  const ms = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(0))
  const rows: string[][] = [
    [
      'trial',
      'first write',
      ...(follow ? ['promoted', 'promotion→write'] : ['failover-started', 'failover-completed']),
      'primary-changed',
      'new primary',
      'failed writes',
    ],
  ]
  figures.trials.forEach((trial, i) => {
    rows.push([
      String(i + 1),
      ms(trial.killToFirstWriteMs),
      ...(follow
        ? [ms(trial.promotedAtMs), ms(trial.promotionToFirstWriteMs)]
        : [ms(trial.events['failover-started']), ms(trial.events['failover-completed'])]),
      ms(trial.events['primary-changed']),
      trial.newPrimary ?? (trial.failure ? `none: ${trial.failure}` : '–'),
      formatErrors(trial.errors),
    ])
  })
  printColumns(rows, [true, true, true, true, true, false, false], print)
  print('')
  print(`  kill → first write:      ${formatSpread(figures.killToFirstWriteMs)}`)
  if (follow) print(`  promotion → first write: ${formatSpread(figures.promotionToFirstWriteMs)}`)
  print(`  failed writes, all trials: ${formatErrors(figures.errors)}`)
}

/** A spread of milliseconds, as the failover reports print it. */
export function formatSpread(s: Spread | undefined): string {
  return s === undefined
    ? 'no trial wrote'
    : `median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`
}

/** Failed writes by error code, most frequent first. */
export function formatErrors(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? 'none' : entries.map(([code, n]) => `${code} ${n}`).join(', ')
}
