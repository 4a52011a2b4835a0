import { redact } from '../util/redact.js'

/** The machine-readable kind of a {@link CausewayError}. */
export type CausewayErrorCode =
  | 'CONFIG_INVALID'
  | 'CLOSED'
  | 'NO_PRIMARY'
  | 'NODE_UNAVAILABLE'
  | 'NODE_FENCED'
  | 'WRITE_OUTCOME_UNKNOWN'
  | 'SQL_PARSER_UNAVAILABLE'
  | 'TOKEN_INVALID'
  | 'MIRROR_TIMEOUT'
  | 'UNKNOWN_NODE'
  | 'FAILOVER_FAILED'
  | 'TRANSACTION_STATE'
  | 'REPLAY_CHECK_FAILED'
  | 'FUNCTION_REFUSED'
  | 'MIRROR_NOT_APPLIED'
  | 'MIRROR_REFUSED'

/**
 * The one error class of Causeway, for failures of Causeway's own making: no
 * primary, a node that cannot be reached, a write of unknown outcome, a bad config
 * or token. Callers branch on `code`. A PostgreSQL error behind it is kept whole as
 * `cause` (SQLSTATE, detail, hint), its SQLSTATE copied to `sqlState`.
 *
 * A statement that PostgreSQL itself rejects (a unique violation, a syntax error)
 * is not wrapped: it reaches the caller as the same `pg` `DatabaseError` that
 * Kysely's own `PostgresDialect` would give, so `error.code === '23505'` keeps working.
 *
 * Messages never contain credentials.
 */
export class CausewayError extends Error {
  override readonly name: string = 'CausewayError'
  readonly code: CausewayErrorCode
  /** The SQLSTATE of the PostgreSQL error behind this one, if any. */
  readonly sqlState: string | undefined
  /** The node the failure happened on, if any. */
  readonly node: string | undefined

  constructor(code: CausewayErrorCode, message: string, options: { cause?: unknown; node?: string } = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.node = options.node
    const state = (options.cause as { code?: unknown } | undefined)?.code
    this.sqlState = typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) ? state : undefined
  }
}

/**
 * A write whose fate is unknown: the connection broke after the statement was sent,
 * so it may or may not have committed. Causeway never retries it; the caller must
 * check (for example with an idempotency key) before trying again.
 */
export class WriteOutcomeUnknownError extends CausewayError {
  override readonly name = 'WriteOutcomeUnknownError'
  constructor(message: string, options: { cause?: unknown; node?: string }) {
    super('WRITE_OUTCOME_UNKNOWN', message, options)
  }
}

/**
 * Synchronous mirroring timed out: the write **committed on the primary** and is
 * durable there, but fewer replicas than asked have applied it yet. Never a failed write.
 */
export class MirrorTimeoutError extends CausewayError {
  override readonly name = 'MirrorTimeoutError'
  /** The replicas that had applied the write in time, and how many were asked for. */
  readonly mirrored: readonly string[]
  readonly required: number
  constructor(message: string, mirrored: readonly string[], required: number) {
    super('MIRROR_TIMEOUT', message)
    this.mirrored = mirrored
    this.required = required
  }
}

/** The error of a statement not sent because the cluster is closed. */
export function closedError(): CausewayError {
  return new CausewayError('CLOSED', 'the cluster is closed; the statement was not sent')
}
