import type { TargetOutcome, WorkloadResult } from '../run/workload-result.js'
import type { Spread } from '../stats.js'

/** Prints one workload: its contenders' figures, then its ratios. */
export function printWorkload(result: WorkloadResult, print: (line: string) => void = console.log): void {
  print('')
  print(`${result.key}: ${result.title}`)
  print(
    `  ${result.repeats} rounds × ${result.phaseMillis / 1000} s per contender, interleaved; ` +
      `load average ${result.loadAverage.start} → ${result.loadAverage.end}`,
  )
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
      figures.replicaReadShare === undefined ? '–' : `${(figures.replicaReadShare * 100).toFixed(1)}%`,
      String(figures.errors),
    ])
  }
  printColumns(rows, [false, false, true, true, true, true, true, true], print)
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

function formatSpread(s: Spread): string {
  return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`
}

function printColumns(
  rows: readonly string[][],
  rightAligned: readonly boolean[],
  print: (line: string) => void,
) {
  const widths = rightAligned.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  for (const row of rows) {
    const cells = widths.map((width, i) =>
      rightAligned[i] ? (row[i] ?? '').padStart(width) : (row[i] ?? '').padEnd(width),
    )
    print(`  ${cells.join('  ').trimEnd()}`)
  }
}
