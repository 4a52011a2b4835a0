import type { TargetOutcome, WorkloadResult } from '../run/workload-result.js'
import type { Spread } from '../stats.js'
import type { MultiPrimaryFigures } from '../workloads/multi-primary.js'
import { printColumns } from './columns.js'
import { printFailover } from './print-failover.js'
import { printPatroni } from './print-patroni.js'

/** Prints one workload: its contenders' figures, then its ratios (a failover workload: its trials). */
export function printWorkload(result: WorkloadResult, print: (line: string) => void = console.log): void {
  print('')
  print(`${result.key}: ${result.title}`)
  if (result.failover) {
    printFailover(result, print)
    return
  }
  if (result.patroni) {
    printPatroni(result, print)
    return
  }
  const multi = (result as { multiPrimary?: MultiPrimaryFigures }).multiPrimary
  if (multi) {
    print(
      `  ${result.repeats} rounds × ${result.phaseMillis / 1000} s per group, interleaved; c${result.concurrency}; ` +
        `read-back median ms, other group: ${multi.otherGroupMs.join(', ')}; write's group: ${multi.originGroupMs.join(', ')}`,
    )
    print(
      `  other/origin ${formatSpread(multi.ratio)}; ${(multi.servedInOtherGroup * 100).toFixed(1)}% served in the other group; stale ${multi.stale}`,
    )
    return
  }
  if (result.idle) {
    print(
      `  ${result.idle.settleSeconds} s to settle after one read, then ${result.idle.seconds} s with no traffic; ` +
        `load average ${result.loadAverage.start} → ${result.loadAverage.end}`,
    )
    printNodeStatements(result, print)
    return
  }
  print(
    `  ${result.repeats} rounds × ${result.phaseMillis / 1000} s per contender, interleaved; ` +
      `load average ${result.loadAverage.start} → ${result.loadAverage.end}`,
  )
  const figures = Object.values(result.contenders)
  const web = figures.some((f) => f.reads)
  const ryw = !web && figures.some((f) => f.writes)
  if (web) printWebRequests(result, print)
  else if (ryw) printReadYourWrites(result, print)
  else printPlain(result, print)
  for (const [key, reason] of Object.entries(result.skipped)) print(`  ${key}  skipped: ${reason}`)
  const readRatios = result.readRatios
  const ratioRows: string[][] = [
    [
      'ratio',
      'median latency (min–max)',
      'p99 latency (min–max)',
      ...(readRatios ? ['median read latency (min–max)'] : []),
      'throughput (min–max)',
      'client CPU/op (min–max)',
    ],
  ]
  for (const [pair, ratio] of Object.entries(result.ratios)) {
    ratioRows.push([
      pair,
      formatSpread(ratio),
      formatSpread(result.p99Ratios[pair]!),
      ...(readRatios ? [readRatios[pair] ? formatSpread(readRatios[pair]) : '–'] : []),
      formatSpread(result.throughputRatios[pair]!),
      formatSpread(result.cpuRatios[pair]!),
    ])
  }
  if (ratioRows.length > 1) {
    print('')
    if (ryw) print('  (latency ratios: read latency)')
    if (web) print('  (latency ratios: whole requests, then their reads; throughput: requests)')
    printColumns(
      ratioRows,
      ratioRows[0]!.map(() => false),
      print,
    )
  }
  printNodeStatements(result, print)
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
      formatStale(stale, figures.operations),
      String(figures.errors),
    ])
  }
  printColumns(rows, [false, false, true, true, true, true, true, true, true, true], print)
}

/** Web requests: whole requests, their reads and their writes apart, and the stale reads. */
function printWebRequests(result: WorkloadResult, print: (line: string) => void): void {
  const rows: string[][] = [
    [
      '',
      'contender',
      'request p50 µs',
      'request p99 µs',
      'read p50 µs',
      'read p99 µs',
      'write p50 µs',
      'write p99 µs',
      'requests/s',
      'replica reads',
      'stale reads',
      'errors',
    ],
  ]
  for (const [key, figures] of Object.entries(result.contenders)) {
    rows.push([
      key,
      figures.label,
      figures.medianUs.toFixed(1),
      figures.p99Us.toFixed(1),
      figures.reads?.medianUs.toFixed(1) ?? '–',
      figures.reads?.p99Us.toFixed(1) ?? '–',
      figures.writes?.medianUs.toFixed(1) ?? '–',
      figures.writes?.p99Us.toFixed(1) ?? '–',
      figures.opsPerSec.toLocaleString('en-US'),
      formatShare(figures.replicaReadShare),
      formatStale(figures.staleReads ?? 0, figures.reads?.operations ?? figures.operations),
      String(figures.errors),
    ])
  }
  printColumns(
    rows,
    rows[0]!.map((_, i) => i >= 2),
    print,
  )
}

/**
 * Causeway's statements per node per second, over its own turns: those it sent on
 * its own (probes, captures, polls), and the freshness checks that rode with app reads.
 */
function printNodeStatements(result: WorkloadResult, print: (line: string) => void): void {
  const counted = Object.entries(result.nodeStatements ?? {})
  if (counted.length === 0) return
  print('')
  print(
    result.idle
      ? '  statements per node per second, with no traffic'
      : "  statements per node per second, over the contender's own turns",
  )
  const rows: string[][] = [
    [
      '',
      'node',
      'role',
      'own statements/s',
      'freshness checks/s',
      'check misses/s',
      'own',
      'checks',
      'misses',
    ],
  ]
  for (const [key, nodes] of counted) {
    for (const node of nodes ?? []) {
      rows.push([
        key,
        node.node,
        node.role,
        node.ownStatementsPerSecond.toFixed(1),
        node.freshnessChecksPerSecond.toFixed(1),
        node.freshnessMissesPerSecond.toFixed(1),
        node.ownStatements.toLocaleString('en-US'),
        node.freshnessChecks.toLocaleString('en-US'),
        node.freshnessMisses.toLocaleString('en-US'),
      ])
    }
  }
  printColumns(
    rows,
    rows[0]!.map((_, i) => i >= 3),
    print,
  )
  print('  (own: probes, token captures, replay polls, sent by Causeway itself; checks: replay-position')
  print('   checks sent in the same flight as an app read; each app process sends its own)')
}

function formatStale(stale: number, reads: number): string {
  return `${stale.toLocaleString('en-US')} (${((stale / Math.max(1, reads)) * 100).toFixed(1)}%)`
}

function formatShare(share: number | undefined): string {
  return share === undefined ? '–' : `${(share * 100).toFixed(1)}%`
}

function formatSpread(s: Spread): string {
  return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`
}
