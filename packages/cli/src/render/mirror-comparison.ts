import type { MirrorComparison, TableComparison } from '@causeway/core'
import { type Column, renderTable } from './table.js'

/** What `causeway mirror-check --json` prints: core's comparison, and the primary it was made against. */
export interface MirrorCheckReport extends MirrorComparison {
  readonly primary: string
}

const COLUMNS: readonly Column[] = [
  { heading: 'TABLE' },
  { heading: 'PRIMARY ROWS', align: 'right' },
  { heading: 'MIRROR ROWS', align: 'right' },
  { heading: 'EQUAL' },
  { heading: 'NOTE' },
]

/**
 * The report with every key on every table (`error: null` where a table was read
 * on both sides), as `status --json` gives every node every key.
 */
export function mirrorCheckReport(primary: string, comparison: MirrorComparison): MirrorCheckReport {
  return {
    primary,
    mirror: comparison.mirror,
    equal: comparison.equal,
    tables: comparison.tables.map((table) => ({ ...table, error: table.error })),
  }
}

/**
 * The comparison as text: a row per table, then a line that says whether the
 * mirror matches, naming the tables that do not.
 *
 * @example
 * renderMirrorCheck(mirrorCheckReport('db1:5432', await cluster.compareMirror('db9:5432')))
 * // TABLE         PRIMARY ROWS  MIRROR ROWS  EQUAL  NOTE
 * // public.users             3            3  yes
 * // Mirror db9:5432 matches primary db1:5432: 1 table, every one equal
 */
export function renderMirrorCheck(report: MirrorCheckReport): string {
  const { primary, mirror, tables } = report
  if (tables.length === 0) {
    return `Nothing to compare: primary ${primary} has no tables outside the system schemas\n`
  }
  const rows = tables.map((table) => [
    table.table,
    orDash(table.primaryRows),
    orDash(table.mirrorRows),
    table.equal ? 'yes' : 'no',
    note(table),
  ])
  const differing = tables.filter((table) => !table.equal)
  const count = `${tables.length} table${tables.length === 1 ? '' : 's'}`
  const summary =
    differing.length === 0
      ? `Mirror ${mirror} matches primary ${primary}: ${count}, every one equal`
      : `Mirror ${mirror} differs from primary ${primary}: ${differing.length} of ${count} not equal ` +
        `(${differing.map((table) => table.table).join(', ')})`
  return `${[...renderTable(COLUMNS, rows), summary].join('\n')}\n`
}

/** Why a table is not equal when its counts do not already say so. */
function note(table: TableComparison): string {
  // A server message may span lines; the table keeps one line per table.
  if (table.error !== undefined) return table.error.replace(/\s+/g, ' ')
  if (!table.equal && table.primaryRows === table.mirrorRows) return 'same row count, other contents'
  return ''
}

function orDash(value: number | undefined): string {
  return value === undefined ? '-' : String(value)
}
