import { describe, expect, it } from 'vitest'
import { mergeTokens, parseToken, serializeToken } from '../../src/consistency/token.js'
import { CausewayError } from '../../src/errors/causeway-error.js'

const token = { systemId: '7313372251239011234', timeline: 3, lsn: 0x1a2b3c4dn }

describe('consistency tokens', () => {
  it('serialise to an opaque, versioned, header- and cookie-safe string and back', () => {
    const text = serializeToken(token)
    expect(text).toBe('cw1.7313372251239011234.3.1a2b3c4d')
    expect(text).toMatch(/^[A-Za-z0-9.]+$/)
    expect(parseToken(text)).toEqual(token)
  })

  it.each([
    '',
    'cw1',
    'cw2.1.1.1',
    'cw1.abc.1.1',
    'cw1.1.0.1',
    'cw1.1.1.xyz',
    'cw1.1.1.1.1',
    ' cw1.1.1.1',
    'cw1.1.1.11111111111111111',
  ])('reject the malformed %j with TOKEN_INVALID', (text) => {
    expect(() => parseToken(text)).toThrow(CausewayError)
    expect(() => parseToken(text)).toThrow(/invalid consistency token/)
  })

  it('reject what is not a string', () => {
    expect(() => parseToken(42 as unknown as string)).toThrow(/invalid consistency token number/)
  })

  it('merge to the later timeline, then the higher LSN, and replace another system', () => {
    const later = { ...token, lsn: token.lsn + 1n }
    expect(mergeTokens(token, later)).toBe(later)
    expect(mergeTokens(later, token)).toBe(later)
    const nextTimeline = { ...token, timeline: 4, lsn: 1n }
    expect(mergeTokens(later, nextTimeline)).toBe(nextTimeline)
    expect(mergeTokens(nextTimeline, later)).toBe(nextTimeline)
    const other = { ...token, systemId: '1' }
    expect(mergeTokens(token, other)).toBe(other)
    expect(mergeTokens(undefined, token)).toBe(token)
  })

  describe('signed with a secret', () => {
    const secret = 'a-secret-of-at-least-16-chars'

    it('round-trip, and carry a 22-character signature', () => {
      const text = serializeToken(token, [secret])
      expect(text).toMatch(/^cw1\.7313372251239011234\.3\.1a2b3c4d\.[A-Za-z0-9_-]{22}$/)
      expect(parseToken(text, [secret])).toEqual(token)
    })

    it('refuse an altered position, timeline or system, an unsigned token and another secret', () => {
      const text = serializeToken(token, [secret])
      const signature = text.split('.')[4]
      for (const forged of [
        `cw1.7313372251239011234.3.ffffffff.${signature}`,
        `cw1.7313372251239011234.5.1a2b3c4d.${signature}`,
        `cw1.1.3.1a2b3c4d.${signature}`,
        'cw1.7313372251239011234.3.1a2b3c4d',
        serializeToken(token, ['another-secret-of-16-chars']),
      ]) {
        expect(() => parseToken(forged, [secret])).toThrow(/invalid consistency token/)
      }
    })

    it('verify with every listed secret, so a secret can be rotated', () => {
      const old = serializeToken(token, ['the-old-secret-16-chars'])
      expect(parseToken(old, [secret, 'the-old-secret-16-chars'])).toEqual(token)
      expect(serializeToken(token, [secret, 'the-old-secret-16-chars'])).toBe(serializeToken(token, [secret]))
    })
  })
})
