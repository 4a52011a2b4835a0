/**
 * How a failed statement is handled:
 * - `connection`: the node could not be reached, or dropped the session: "try
 *   elsewhere". A read is retried on another node; a write is not.
 * - `read-only`: SQLSTATE 25006, a write sent to a standby: nothing ran.
 * - `statement`: the statement itself failed (a constraint, a syntax error…): the
 *   same on every node, so it goes straight back to the caller.
 */
export type FailureKind = 'connection' | 'read-only' | 'statement'

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
])

// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting
// up, shutting down, or not yet consistent), 53300 too many connections.
const TRY_ELSEWHERE_STATES = new Set(['57P01', '57P02', '57P03', '53300'])

/** Classifies an error thrown by `pg` while connecting or running a statement. */
export function failureKind(error: unknown): FailureKind {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (code === '25006') return 'read-only'
    if (code.startsWith('08')) {
      // The server sent an ERROR, not a FATAL: it refused one message (08P01 for a
      // NUL byte in the SQL text) and the session lives on. Nothing ran; it is the
      // statement's own error, not a lost connection.
      return (error as { severity?: unknown }).severity === 'ERROR' ? 'statement' : 'connection'
    }
    if (TRY_ELSEWHERE_STATES.has(code) || CONNECTION_ERRNOS.has(code)) return 'connection'
    // 40001 is a serialization failure; on a standby it is a recovery conflict
    // ("canceling statement due to conflict with recovery"), which another node avoids.
    if (code === '40001' && /recovery/i.test(String((error as { message?: unknown }).message)))
      return 'connection'
    if (/^[0-9A-Z]{5}$/.test(code)) return 'statement'
  }
  const message = String((error as { message?: unknown } | null)?.message ?? '')
  // pg reports a dropped socket or a connect timeout without a code.
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Query read timeout/i.test(
      message,
    )
  ) {
    return 'connection'
  }
  return 'statement'
}
