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

const VERSION = 'cw1'
const TOKEN_TEXT = /^cw1\.([0-9]{1,20})\.([0-9a-f]{1,8})\.([0-9a-f]{1,16})$/

/**
 * Serialises a token as an opaque, versioned string that is safe in an HTTP header,
 * a cookie or a job payload.
 *
 * @example
 * serializeToken({ systemId: '7340123', timeline: 2, lsn: 0x3000148n }) // 'cw1.7340123.2.3000148'
 */
export function serializeToken(token: ConsistencyToken): string {
  return `${VERSION}.${token.systemId}.${token.timeline.toString(16)}.${token.lsn.toString(16)}`
}

/**
 * Parses a token made by {@link serializeToken}. Strict: anything else is a
 * `TOKEN_INVALID` error, never a token that could allow a stale read.
 */
export function parseToken(text: string): ConsistencyToken {
  const match = typeof text === 'string' ? TOKEN_TEXT.exec(text) : null
  if (!match) {
    const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 60)) : typeof text
    throw new CausewayError(
      'TOKEN_INVALID',
      `invalid consistency token ${shown}: expected the form cw1.<system>.<timeline>.<lsn>`,
    )
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
