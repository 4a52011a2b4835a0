import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatLsn, normalizeInsertLsn, parseLsn } from '../../src/consistency/lsn.js'

describe('LSN text', () => {
  it('parses and formats PostgreSQL’s two-half hex form', () => {
    expect(parseLsn('0/0')).toBe(0n)
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n)
    expect(parseLsn('ffffffff/ffffffff')).toBe(0xffffffffffffffffn)
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848')
    expect(formatLsn(0n)).toBe('0/0')
  })

  it('round-trips every 64-bit position', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (lsn) => parseLsn(formatLsn(lsn)) === lsn),
    )
  })

  it('orders like the WAL: the high half dominates', () => {
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true)
  })

  it.each(['', '0', '0/', '/0', 'g/0', '0/123456789', '1/2/3', ' 0/1', '0x1/2'])('rejects %j', (text) => {
    expect(() => parseLsn(text)).toThrow(/not an LSN/)
  })
})

describe('normalizeInsertLsn', () => {
  const page = 8192n
  const segment = 16n * 1024n * 1024n

  it('moves an insert LSN just past a page header back to the page boundary', () => {
    expect(normalizeInsertLsn(3n * page + 24n)).toBe(3n * page)
  })

  it('moves one just past a segment’s long header back to the segment boundary', () => {
    expect(normalizeInsertLsn(5n * segment + 40n)).toBe(5n * segment)
    // 40 bytes into a page that is not a segment start is a real position.
    expect(normalizeInsertLsn(3n * page + 40n)).toBe(3n * page + 40n)
  })

  it('leaves every other position alone', () => {
    expect(normalizeInsertLsn(3n * page)).toBe(3n * page)
    expect(normalizeInsertLsn(3n * page + 23n)).toBe(3n * page + 23n)
    expect(normalizeInsertLsn(3n * page + 25n)).toBe(3n * page + 25n)
    // A segment boundary + 24 is inside the long header, never an insert position; no change.
    expect(normalizeInsertLsn(5n * segment + 24n)).toBe(5n * segment + 24n)
  })

  it('respects a non-default WAL layout', () => {
    const layout = { pageBytes: 4096, segmentBytes: 1024 * 1024 }
    expect(normalizeInsertLsn(4096n + 24n, layout)).toBe(4096n)
    expect(normalizeInsertLsn(1024n * 1024n + 40n, layout)).toBe(1024n * 1024n)
  })

  it('never moves a position up, nor down by more than a header', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 48n }), (lsn) => {
        const normalized = normalizeInsertLsn(lsn)
        return normalized <= lsn && lsn - normalized <= 40n
      }),
    )
  })
})
