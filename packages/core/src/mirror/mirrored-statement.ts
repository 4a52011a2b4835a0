/** A write that committed on the primary, as a mirror replays it. */
export interface MirroredStatement {
  readonly sql: string
  readonly parameters: readonly unknown[]
  /** The rows it changed on the primary (`rowCount`), to compare with the mirror's; null when unknown. */
  readonly rows: number | null
  /**
   * It ran outside any transaction on the primary, because it cannot run in one
   * (VACUUM, CREATE INDEX CONCURRENTLY: 25001): the mirror runs it alone too.
   */
  readonly alone?: true
}

/** A rough size of a statement in memory: its text and its parameters. */
export function sizeOf(statement: MirroredStatement): number {
  let bytes = statement.sql.length + 16
  for (const value of statement.parameters) bytes += sizeOfValue(value)
  return bytes
}

function sizeOfValue(value: unknown): number {
  if (typeof value === 'string') return value.length
  if (value instanceof Uint8Array) return value.byteLength
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + sizeOfValue(v), 8)
  if (value !== null && typeof value === 'object' && !(value instanceof Date))
    return JSON.stringify(value)?.length ?? 8
  return 8
}
