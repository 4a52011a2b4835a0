import type { Generated } from 'kysely'

/** The one table every workload reads and writes. */
export interface ItemTable {
  readonly id: number
  readonly name: string
  readonly qty: number
  readonly updated_at: Generated<Date>
}

/** The bench database, as Kysely sees it. */
export interface BenchDatabase {
  readonly bench_items: ItemTable
}

export const ITEMS_TABLE = 'bench_items'
