import type { Generated } from 'kysely'

/** The one table every workload reads and writes. */
export interface ItemTable {
  readonly id: number
  readonly name: string
  readonly qty: number
  readonly updated_at: Generated<Date>
}

/** Rows the write workloads insert: `tag` says which session wrote it, and its sequence number. */
export interface WriteTable {
  readonly id: Generated<number>
  readonly tag: string
}

/** The bench database, as Kysely sees it. */
export interface BenchDatabase {
  readonly bench_items: ItemTable
  readonly bench_writes: WriteTable
}

export const ITEMS_TABLE = 'bench_items'
export const WRITES_TABLE = 'bench_writes'
