import type pg from 'pg'
import { redact } from '../util/redact.js'
import { OUTBOX_SCHEMA } from './outbox-sql.js'

/** One table compared between the primary and a mirror. */
export interface TableComparison {
  /**
   * As the server names it (`regclass`), quoted as in SQL: schema-qualified unless
   * its schema is on the search path (`users`, `app.orders`); as given when the
   * primary has no such table.
   */
  readonly table: string
  readonly primaryRows: number | undefined
  readonly mirrorRows: number | undefined
  /** md5 of every row as text, in byte order of that text, one row per line. */
  readonly primaryMd5: string | undefined
  readonly mirrorMd5: string | undefined
  readonly equal: boolean
  /** Why a side could not be read (a table missing on the mirror, say), credentials removed. */
  readonly error?: string
}

/** What {@link compareMirror} found. */
export interface MirrorComparison {
  readonly mirror: string
  /** Every table equal on both sides. */
  readonly equal: boolean
  readonly tables: readonly TableComparison[]
}

/** Options of {@link compareMirror}. */
export interface CompareMirrorOptions {
  /** The tables to compare (`users`, `app.orders`). Default: every table of the primary outside the system schemas and `causeway_mirror`. */
  readonly tables?: readonly string[]
}

type Query = (sql: string, parameters?: unknown[]) => Promise<pg.QueryResult>

const LIST_TABLES = `select format('%I.%I', schemaname, tablename) as name from pg_tables
  where schemaname not in ('pg_catalog', 'information_schema', '${OUTBOX_SCHEMA}') order by 1`

/**
 * Compares tables row by row: per table, `count(*)` and the md5 of its rows as
 * text (`t::text`), ordered by that text in the "C" collation so that two servers
 * with other collations order alike. Each side is one statement per table, not one
 * snapshot of the database: compare while writes are paused and the mirror's
 * backlog is empty. Table names are quoted by the server (`to_regclass`), never
 * pasted in unchecked.
 */
export async function compareTables(
  mirror: string,
  onPrimary: Query,
  onMirror: Query,
  options: CompareMirrorOptions = {},
): Promise<MirrorComparison> {
  const names = options.tables ?? (await onPrimary(LIST_TABLES)).rows.map((row) => row.name as string)
  const tables: TableComparison[] = []
  for (const name of names) {
    const [primary, mirrored] = await Promise.all([digest(onPrimary, name), digest(onMirror, name)])
    const equal =
      primary.error === undefined &&
      mirrored.error === undefined &&
      primary.rows === mirrored.rows &&
      primary.md5 === mirrored.md5
    const error = primary.error ?? mirrored.error
    tables.push({
      table: primary.table ?? mirrored.table ?? name,
      primaryRows: primary.rows,
      mirrorRows: mirrored.rows,
      primaryMd5: primary.md5,
      mirrorMd5: mirrored.md5,
      equal,
      ...(error ? { error } : {}),
    })
  }
  return { mirror, equal: tables.every((t) => t.equal), tables }
}

async function digest(
  query: Query,
  name: string,
): Promise<{ table?: string; rows?: number; md5?: string; error?: string }> {
  try {
    const { rows } = await query('select to_regclass($1)::text as regclass', [name])
    const table = rows[0]?.regclass as string | null | undefined
    if (!table) return { error: `no table ${name}` }
    const result = await query(
      `select count(*)::float8 as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text collate "C"), '')) as md5 from ${table} t`,
    )
    const row = result.rows[0] as { rows: number; md5: string }
    return { table, rows: row.rows, md5: row.md5 }
  } catch (error) {
    return { error: redact(String((error as Error).message)) }
  }
}
