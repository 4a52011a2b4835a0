import { tracingChannel } from 'node:diagnostics_channel'
import type { FallbackReason } from '../events/cluster-events.js'
import type { Intent } from '../model/intent.js'
import type { NodeRole } from '../model/node-state.js'

/**
 * The name of the `diagnostics_channel` TracingChannel on which every app
 * statement is published, once per attempt on a node. Node derives the five
 * channels `tracing:causeway:statement:start`, `…:end`, `…:asyncStart`,
 * `…:asyncEnd` and `…:error` from it.
 *
 * Causeway's own statements are not published here: health probes, token
 * captures, replay polls and stand-alone freshness checks (a read's check sent
 * in its own flight is part of that read's event).
 *
 * @example
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel'
 * import { STATEMENT_CHANNEL, type StatementTraceContext } from '@causeway/core'
 *
 * tracingChannel<unknown, StatementTraceContext>(STATEMENT_CHANNEL).subscribe({
 *   start(ctx) {},
 *   end(ctx) {},
 *   asyncStart(ctx) {},
 *   asyncEnd(ctx) { console.log(ctx.node, ctx.role, ctx.reason, ctx.rowCount) },
 *   error(ctx) { console.log(ctx.node, ctx.errorCode) },
 * })
 * ```
 */
export const STATEMENT_CHANNEL = 'causeway:statement'

/**
 * The name of the TracingChannel on which each client-side synchronous mirroring
 * wait (`sync: { method: 'client' }`) is published: after a write commits, the
 * wait until enough replicas have replayed it. Its context is a {@link ReplayWaitTraceContext}.
 */
export const REPLAY_WAIT_CHANNEL = 'causeway:replay-wait'

/**
 * Why a statement went to the node it ran on.
 *
 * - `write`: a write (or a statement of unknown intent) goes to the primary.
 * - `on-primary`: a read forced to the primary, by the `onPrimary` plugin or a
 *   `cluster.onPrimary()` scope.
 * - `pinned`: the connection moved to the primary at an earlier write and stays there.
 * - `transaction`: inside a transaction, on the node it began on (and its `BEGIN`,
 *   `COMMIT` and `ROLLBACK` on the primary).
 * - `replica`: a replica chosen by the balancer, with the scope's token known replayed.
 * - `bound`: the replica the connection already holds, still eligible.
 * - `unproven-replica`: a replica not yet known to have replayed the scope's token,
 *   tried with the proof in the read's own flight (`consistency.maxWaitMillis` > 0).
 * - a {@link FallbackReason}: a read sent to the primary (`capture-pending`,
 *   `not-caught-up`, `no-replica`, `all-replicas-unhealthy`, `all-replicas-lagging`).
 * - `stale-token`: the scope's token cannot be served by replicas (another
 *   system or timeline, or a position not reached): the read runs on the primary.
 * - `misclassified-write`: a read a replica rejected with 25006, run again on the primary.
 */
export type RouteReason =
  | 'write'
  | 'on-primary'
  | 'pinned'
  | 'transaction'
  | 'replica'
  | 'bound'
  | 'unproven-replica'
  | 'stale-token'
  | 'misclassified-write'
  | FallbackReason

/**
 * The context object of one {@link STATEMENT_CHANNEL} event: the same object is
 * passed to `start`, `end`, `asyncStart`, `asyncEnd` and `error`, so a subscriber
 * may keep its own state on it (a span, say). It never holds credentials or
 * parameter values.
 */
export interface StatementTraceContext {
  /** The node's configured name. */
  readonly node: string
  /** Its role when the statement was sent. */
  readonly role: NodeRole
  readonly intent: Intent
  /** Why this node. */
  readonly reason: RouteReason
  /**
   * The statement's SQL text, with placeholders (`$1`), never parameter values.
   * For tracers: it is unbounded, so never use it as a metric label.
   */
  readonly statement: string
  /** The server the connection reached: host (or socket directory) and port. */
  readonly serverAddress: string | undefined
  readonly serverPort: number | undefined
  /** The database the connection is logged in to. */
  readonly database: string | undefined
  /** Set before `asyncStart`: the rows returned or affected (pg's `rowCount`), when known. */
  rowCount?: number | null
  /**
   * Set before `asyncStart` on a replica read that carried a replay check: the
   * replica had not replayed the scope's token, so its result was dropped and the
   * read runs again on the primary (a second event).
   */
  stale?: boolean
  /**
   * Set before `error`: the SQLSTATE of a PostgreSQL error, a {@link CausewayError}'s
   * `code`, or a Node system error's code (`ECONNREFUSED`); else the error's name.
   */
  errorCode?: string
  /** Set by the TracingChannel before `error`. */
  error?: unknown
  /** Set by the TracingChannel before `asyncStart`. */
  result?: unknown
}

/**
 * The context object of one {@link REPLAY_WAIT_CHANNEL} event: a write's
 * client-side mirroring, from the capture of its position to enough replicas
 * having replayed it (or the timeout).
 */
export interface ReplayWaitTraceContext {
  /** The primary the write committed on. */
  readonly node: string
  readonly role: NodeRole
  /** How many replicas must replay the write (`'all'`: every routable replica). */
  readonly required: number | 'all'
  readonly timeoutMillis: number
  /** What happens on a timeout: the write's caller gets an error, or carries on. */
  readonly onTimeout: 'error' | 'continue'
  /** Set once captured: the write's position, as `0/16B3748`. */
  lsn?: string
  /** Set before `asyncStart`: the replicas that replayed the write in time. */
  mirrored?: readonly string[]
  /** Set before `asyncStart`: fewer than `required` replicas replayed it in time. */
  timedOut?: boolean
  /** Set before `error`, as on {@link StatementTraceContext.errorCode} (`MIRROR_TIMEOUT`). */
  errorCode?: string
  error?: unknown
  result?: unknown
}

/** The statement channel, looked up once: `hasSubscribers` on it is a field read. */
export const statementChannel = tracingChannel<unknown, StatementTraceContext>(STATEMENT_CHANNEL)

/** The replay-wait channel. */
export const replayWaitChannel = tracingChannel<unknown, ReplayWaitTraceContext>(REPLAY_WAIT_CHANNEL)

/** The code a trace reports for `error`, without its message (which may quote data). */
export function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code === 'string' && code.length > 0) return code
  return error instanceof Error ? error.name : typeof error
}
