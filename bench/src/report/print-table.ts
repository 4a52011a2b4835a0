import type { TargetOutcome, WorkloadResult } from '../run/workload-result.js'
import type { Spread } from '../stats.js'
import { printColumns } from './columns.js'
import { printFailover } from './print-failover.js'

/** Prints one workload: its contenders' figures, then its ratios (a failover workload: its trials). */
export function printWorkload(result: WorkloadResult, print: (line: string) => void = console.log): void {
  print('')
  print(`${result.key}: ${result.title}`)
  if (result.failover) {
    printFailover(result, print)
    return
  }
  print(
    `  ${result.repeats} rounds × ${result.phaseMillis / 1000} s per contender, interleaved; ` +
      `load average ${result.loadAverage.start} → ${result.loadAverage.end}`,
  )
  const ryw = Object.values(result.contenders).some((figures) => figures.writes)
  if (ryw) printReadYourWrites(result, print)
  else printPlain(result, print)
  for (const [key, reason] of Object.entries(result.skipped)) print(`  ${key}  skipped: ${reason}`)
  const ratioRows: string[][] = [
    ['ratio', 'median latency (min–max)', 'throughput (min–max)', 'client CPU/op (min–max)'],
  ]
  for (const [pair, ratio] of Object.entries(result.ratios)) {
    ratioRows.push([
      pair,
      formatSpread(ratio),
      formatSpread(result.throughputRatios[pair]!),
      formatSpread(result.cpuRatios[pair]!),
    ])
  }
  if (ratioRows.length > 1) {
    print('')
    if (ryw) print('  (latency ratios: read latency)')
    printColumns(ratioRows, [false, false, false, false], print)
  }
  for (const [key, figures] of Object.entries(result.contenders)) {
    if (figures.firstError) print(`  ${key} errors, first: ${figures.firstError}`)
  }
}

/** Prints every target's verdict. */
export function printTargets(
  outcomes: readonly TargetOutcome[],
  print: (line: string) => void = console.log,
): void {
  print('')
  print('targets (latency ratios: the median over the rounds; below 1 means the first is faster)')
  for (const outcome of outcomes) print(`  ${outcome.status.padEnd(4)}  ${outcome.target}: ${outcome.detail}`)
}

function printPlain(result: WorkloadResult, print: (line: string) => void): void {
  const rows: string[][] = [
    ['', 'contender', 'median µs', 'p99 µs', 'ops/s', 'client CPU µs/op', 'replica reads', 'errors'],
  ]
  for (const [key, figures] of Object.entries(result.contenders)) {
    rows.push([
      key,
      figures.label,
      figures.medianUs.toFixed(1),
      figures.p99Us.toFixed(1),
      figures.opsPerSec.toLocaleString('en-US'),
      figures.clientCpuUsPerOp.toFixed(1),
      formatShare(figures.replicaReadShare),
      String(figures.errors),
    ])
  }
  printColumns(rows, [false, false, true, true, true, true, true, true], print)
}

/** Read-your-writes: reads and writes apart, and the stale reads. */
function printReadYourWrites(result: WorkloadResult, print: (line: string) => void): void {
  const rows: string[][] = [
    [
      '',
      'contender',
      'read p50 µs',
      'read p99 µs',
      'write p50 µs',
      'write p99 µs',
      'reads/s',
      'replica reads',
      'stale reads',
      'errors',
    ],
  ]
  for (const [key, figures] of Object.entries(result.contenders)) {
    const stale = figures.staleReads ?? 0
    rows.push([
      key,
      figures.label,
      figures.medianUs.toFixed(1),
      figures.p99Us.toFixed(1),
      figures.writes?.medianUs.toFixed(1) ?? '–',
      figures.writes?.p99Us.toFixed(1) ?? '–',
      figures.opsPerSec.toLocaleString('en-US'),
      formatShare(figures.replicaReadShare),
      `${stale.toLocaleString('en-US')} (${((stale / Math.max(1, figures.operations)) * 100).toFixed(1)}%)`,
      String(figures.errors),
    ])
  }
  printColumns(rows, [false, false, true, true, true, true, true, true, true, true], print)
}

function formatShare(share: number | undefined): string {
  return share === undefined ? '–' : `${(share * 100).toFixed(1)}%`
}

function formatSpread(s: Spread): string {
  return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`
}
