import type pg from 'pg'
import { failureKind } from '../errors/failure-kind.js'
import type { MirroredStatement } from './mirrored-statement.js'

/**
 * Why a replay did not apply:
 * - `retry`: nothing of it committed (the connection was lost before COMMIT, or the
 *   mirror rolled the whole transaction back: a deadlock, a serialization failure),
 *   so replaying it again cannot apply it twice;
 * - `divergence`: the mirror rejected a statement the primary committed, or it
 *   changed another number of rows: the mirror's data is not the primary's;
 * - `commit-unknown`: the connection was lost during COMMIT: it may or may not have
 *   committed, and a retry could apply it twice.
 */
export type ApplyFailureKind = 'retry' | 'divergence' | 'commit-unknown'

/** A replay that did not apply, with the statement at fault when there is one. */
export class ApplyFailure extends Error {
  constructor(
    readonly kind: ApplyFailureKind,
    readonly statement: MirroredStatement | undefined,
    readonly detail: { cause?: unknown; mirrorRows?: number },
  ) {
    super(String((detail.cause as Error | undefined)?.message ?? `changed ${detail.mirrorRows} rows`), {
      cause: detail.cause,
    })
  }
}

// A whole transaction the server rolled back on its own: replaying it is safe.
const ROLLED_BACK = new Set(['40001', '40P01', '55P03', '57014'])

/** Statements of the relay's own, run in the replayed transaction. */
export interface ApplyHooks {
  /** Runs first; may throw to give up (the transaction is rolled back, the error rethrown as is). */
  readonly before?: (client: pg.ClientBase) => Promise<void>
  /** Runs last, before COMMIT (the progress row). */
  readonly after?: (client: pg.ClientBase) => Promise<void>
  /** The text that commits, in place of `commit`: a progress row and the COMMIT in one round trip. */
  readonly commit?: string
}

/**
 * Applies statements on `client` as one transaction. Throws an {@link ApplyFailure};
 * after one of kind `divergence` the transaction is rolled back and the client can
 * be reused, after the others it is not to be.
 */
export async function applyTransaction(
  client: pg.ClientBase,
  statements: readonly MirroredStatement[],
  hooks: ApplyHooks = {},
): Promise<void> {
  let current: MirroredStatement | undefined
  try {
    await client.query('begin')
    if (hooks.before) {
      try {
        await hooks.before(client)
      } catch (error) {
        if (failureKind(error) !== 'connection') await client.query('rollback')
        throw error
      }
    }
    for (const statement of statements) {
      current = statement
      const result = await client.query(statement.sql, statement.parameters as unknown[])
      // DDL and utility statements have no count on either side.
      if (statement.rows !== null && result.rowCount !== null && result.rowCount !== statement.rows) {
        await client.query('rollback')
        throw new ApplyFailure('divergence', statement, { mirrorRows: result.rowCount })
      }
    }
    current = undefined
    if (hooks.after) await hooks.after(client)
  } catch (error) {
    if (error instanceof ApplyFailure || error instanceof Superseded) throw error
    if (failureKind(error) === 'connection') throw new ApplyFailure('retry', current, { cause: error })
    const code = (error as { code?: unknown }).code
    await client.query('rollback').catch(() => {})
    throw new ApplyFailure(ROLLED_BACK.has(String(code)) ? 'retry' : 'divergence', current, { cause: error })
  }
  try {
    await client.query(hooks.commit ?? 'commit')
  } catch (error) {
    // A COMMIT refused by the server (a deferred constraint) applied nothing.
    const code = String((error as { code?: unknown }).code)
    const kind =
      failureKind(error) === 'connection' ? 'commit-unknown' : ROLLED_BACK.has(code) ? 'retry' : 'divergence'
    // A statement sent with the COMMIT failed before it: the transaction is still open.
    if (kind !== 'commit-unknown') await client.query('rollback').catch(() => {})
    throw new ApplyFailure(kind, undefined, { cause: error })
  }
}

/** Thrown by a `before` hook: another relay applied these rows first; nothing was applied here. */
export class Superseded extends Error {}
