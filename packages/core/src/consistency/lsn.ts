/**
 * A WAL position (log sequence number). Kept as a bigint: LSNs are 64-bit and a
 * long-lived, busy cluster does pass 2^53.
 */
export type Lsn = bigint

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/**
 * Parses PostgreSQL's `pg_lsn` text form, `XXXXXXXX/XXXXXXXX` (two hex halves).
 *
 * @example
 * parseLsn('16/B374D848') // 0x16B374D848n
 */
export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text)
  if (!match) throw new TypeError(`not an LSN: ${JSON.stringify(text)}`)
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

/**
 * Formats an LSN as PostgreSQL prints it.
 *
 * @example
 * formatLsn(0x16B374D848n) // '16/B374D848'
 */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/** The layout of the WAL, read from the server (`wal_block_size`, `wal_segment_size`). */
export interface WalLayout {
  readonly pageBytes: number
  readonly segmentBytes: number
}

/** PostgreSQL's defaults: 8 KiB WAL pages, 16 MiB segments. */
export const DEFAULT_WAL_LAYOUT: WalLayout = { pageBytes: 8192, segmentBytes: 16 * 1024 * 1024 }

/** Size of the header at the start of every WAL page (XLogPageHeaderData). */
const SHORT_PAGE_HEADER = 24n
/** Size of the header at the start of every WAL segment (XLogLongPageHeaderData). */
const LONG_PAGE_HEADER = 40n

/**
 * Turns an insert LSN into the position a standby's replay LSN will reach.
 *
 * When the last record ends exactly at a page boundary, `pg_current_wal_insert_lsn()`
 * already points past the next page's header (boundary + 24, or + 40 at a segment
 * start), but no record exists there yet; a standby's `pg_last_wal_replay_lsn()`
 * stops at the boundary itself and stays there until the next record. Unnormalised,
 * about 1 commit in 1,000 would wait for some unrelated later write.
 *
 * @example
 * normalizeInsertLsn(0x2000n + 24n) // 0x2000n (page boundary)
 * normalizeInsertLsn(0x1000000n + 40n) // 0x1000000n (segment boundary)
 */
export function normalizeInsertLsn(lsn: Lsn, layout: WalLayout = DEFAULT_WAL_LAYOUT): Lsn {
  const inSegment = lsn % BigInt(layout.segmentBytes)
  if (inSegment === LONG_PAGE_HEADER) return lsn - LONG_PAGE_HEADER
  // A segment's first page has the long header: +24 there is inside it, not past it.
  if (inSegment !== SHORT_PAGE_HEADER && lsn % BigInt(layout.pageBytes) === SHORT_PAGE_HEADER) {
    return lsn - SHORT_PAGE_HEADER
  }
  return lsn
}
