import { createHmac, timingSafeEqual } from 'node:crypto'
import { CausewayError } from '../errors/causeway-error.js'
import type { Lsn } from './lsn.js'

/**
 * What a read must see: every write up to `lsn` on timeline `timeline` of the
 * cluster whose `pg_control_system().system_identifier` is `systemId`.
 */
export interface ConsistencyToken {
  readonly systemId: string
  readonly timeline: number
  readonly lsn: Lsn
}

/**
 * Secrets that sign tokens: the first signs, every one verifies (so a secret can
 * be rotated by putting the new one first and dropping the old one later).
 */
export type TokenSecrets = readonly string[]

const VERSION = 'cw1'
const TOKEN_TEXT = /^cw1\.([0-9]{1,20})\.([0-9a-f]{1,8})\.([0-9a-f]{1,16})(?:\.([A-Za-z0-9_-]{22}))?$/

/**
 * Serialises a token as an opaque, versioned string that is safe in an HTTP header,
 * a cookie or a job payload. With `secrets`, an HMAC-SHA256 signature (16 bytes,
 * base64url) is appended, so that a client cannot forge or alter it.
 *
 * @example
 * serializeToken({ systemId: '7340123', timeline: 2, lsn: 0x3000148n }) // 'cw1.7340123.2.3000148'
 */
export function serializeToken(token: ConsistencyToken, secrets?: TokenSecrets): string {
  const body = `${VERSION}.${token.systemId}.${token.timeline.toString(16)}.${token.lsn.toString(16)}`
  const secret = secrets?.[0]
  return secret === undefined ? body : `${body}.${sign(body, secret)}`
}

/**
 * Parses a token made by {@link serializeToken}. Strict: anything else is a
 * `TOKEN_INVALID` error, never a token that could allow a stale read. With
 * `secrets`, an unsigned token or one whose signature does not match is refused.
 */
export function parseToken(text: string, secrets?: TokenSecrets): ConsistencyToken {
  const match = typeof text === 'string' ? TOKEN_TEXT.exec(text) : null
  if (!match) {
    const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 60)) : typeof text
    throw new CausewayError(
      'TOKEN_INVALID',
      `invalid consistency token ${shown}: expected the form cw1.<system>.<timeline>.<lsn>`,
    )
  }
  if (secrets && secrets.length > 0) {
    const signature = match[4]
    const body = text.slice(0, text.length - (signature === undefined ? 0 : signature.length + 1))
    if (signature === undefined || !secrets.some((secret) => sameText(sign(body, secret), signature))) {
      throw new CausewayError(
        'TOKEN_INVALID',
        `invalid consistency token: ${signature === undefined ? 'it is not signed' : 'its signature does not match'}, and this cluster signs its tokens`,
      )
    }
  }
  const timeline = Number.parseInt(match[2]!, 16)
  if (timeline < 1)
    throw new CausewayError('TOKEN_INVALID', `invalid consistency token: timeline ${timeline}`)
  return { systemId: match[1]!, timeline, lsn: BigInt(`0x${match[3]}`) }
}

/**
 * The token that covers both: within one system the later timeline wins, and on
 * one timeline the higher LSN. A token of another system is replaced.
 */
export function mergeTokens(current: ConsistencyToken | undefined, next: ConsistencyToken): ConsistencyToken {
  if (!current || current.systemId !== next.systemId) return next
  if (next.timeline !== current.timeline) return next.timeline > current.timeline ? next : current
  return next.lsn > current.lsn ? next : current
}

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest().subarray(0, 16).toString('base64url')
}

/** Compares in constant time, so a signature cannot be guessed byte by byte from timings. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
