import type { Intent } from './intent.js'

/** A statement for the router: its text, parameters, and what it may do. */
export interface Statement {
  readonly sql: string
  readonly parameters: readonly unknown[]
  readonly intent: Intent
  /** Set by a per-query hint (the Kysely `onPrimary` plugin): run it on the primary. */
  readonly forcePrimary?: boolean
  /**
   * Identifies the statement (Kysely's `QueryId`), so that a cancel meant for it
   * cannot hit a later statement on the same connection.
   */
  readonly queryId?: unknown
}

/** How a transaction starts, as far as routing is concerned. */
export interface TransactionOptions {
  /** `read only` transactions that are not serializable may run on a replica. */
  readonly accessMode?: 'read only' | 'read write'
  readonly isolationLevel?: string
  /** The exact `BEGIN`/`START TRANSACTION` text to send. Default `'begin'`. */
  readonly sql?: string
}
