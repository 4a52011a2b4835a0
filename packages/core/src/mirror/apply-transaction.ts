import { createHash } from 'node:crypto'
import type pg from 'pg'
import {
  type CountResult,
  type CountStep,
  maySpanStatements,
  pipelinedQueries,
  type RawStep,
  rawStep,
} from '../driver/pipelined-queries.js'
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

const BEGIN = rawStep('begin')

/** 26000: a named statement the session was thought to hold is gone (a pooler, DISCARD ALL). */
const STATEMENT_MISSING = '26000'

// A whole transaction the server rolled back on its own (or a named statement
// found missing, which aborted it): replaying it is safe.
const ROLLED_BACK = new Set(['40001', '40P01', '55P03', '57014', STATEMENT_MISSING])

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
 *
 * The statements go in pipelined flights (see `pipelinedQueries`): the BEGIN (when
 * no `before` hook runs first) and every statement up to the next one that must go
 * alone, in one round trip, then the row counts are compared before anything
 * commits. Their rows are not read back (no Describe), and each text is a named
 * prepared statement of the mirror's session ({@link PreparedTexts}), so the
 * mirror parses and plans it once. A statement without parameters that may hold
 * several (a `;` in its text) goes alone through the simple protocol, as the
 * primary ran it.
 */
export async function applyTransaction(
  client: pg.ClientBase,
  statements: readonly MirroredStatement[],
  hooks: ApplyHooks = {},
): Promise<void> {
  let current: MirroredStatement | undefined
  try {
    let begun = false
    if (hooks.before) {
      await client.query('begin')
      begun = true
      try {
        await hooks.before(client)
      } catch (error) {
        if (failureKind(error) !== 'connection') await client.query('rollback')
        throw error
      }
    }
    let next = 0
    while (next < statements.length || !begun) {
      const first = statements[next]
      if (begun && first !== undefined && !pipelines(first)) {
        // Alone, through the simple protocol (its text may hold several statements).
        current = first
        next++
        await checkRows(client, first, await client.query(first.sql))
        continue
      }
      // The BEGIN when not sent yet, then every statement up to one that must go alone.
      const run: MirroredStatement[] = []
      while (next < statements.length && pipelines(statements[next]!)) run.push(statements[next++]!)
      const texts = preparedTexts(client)
      const counted = run.map((statement) => texts.step(statement))
      const offset = begun ? 0 : 1
      const steps: (CountStep | RawStep)[] = begun ? counted : [BEGIN, ...counted]
      begun = true
      const { results, failed } = await pipelinedQueries(client, steps)
      texts.ran(counted, failed === undefined ? counted.length : failed.step - offset)
      for (const [index, statement] of run.entries()) {
        const result = results[index + offset] as CountResult | undefined
        if (result === undefined) break
        await checkRows(client, statement, result)
      }
      if (failed) {
        current = run[failed.step - offset]
        if ((failed.error as { code?: unknown }).code === STATEMENT_MISSING) texts.lost()
        throw failed.error
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

/**
 * Applies a statement that ran outside any transaction on the primary (it cannot
 * run in one: `alone`), outside one here too. A lost connection is `commit-unknown`:
 * it may have run.
 */
export async function applyAlone(client: pg.ClientBase, statement: MirroredStatement): Promise<void> {
  let result: pg.QueryResult
  try {
    result = await client.query(statement.sql, statement.parameters as unknown[])
  } catch (error) {
    if (failureKind(error) === 'connection')
      throw new ApplyFailure('commit-unknown', statement, { cause: error })
    const code = String((error as { code?: unknown }).code)
    throw new ApplyFailure(ROLLED_BACK.has(code) ? 'retry' : 'divergence', statement, { cause: error })
  }
  if (statement.rows !== null && result.rowCount !== null && result.rowCount !== statement.rows)
    throw new ApplyFailure('divergence', statement, { mirrorRows: result.rowCount })
}

/** A statement that can share a pipelined flight: one statement for sure. */
function pipelines(statement: MirroredStatement): boolean {
  return !maySpanStatements(statement.sql, statement.parameters)
}

/** Rolls back and throws a divergence when the mirror changed another number of rows than the primary. */
async function checkRows(
  client: pg.ClientBase,
  statement: MirroredStatement,
  result: { rowCount: number | null },
): Promise<void> {
  // DDL and utility statements have no count on either side.
  if (statement.rows !== null && result.rowCount !== null && result.rowCount !== statement.rows) {
    await client.query('rollback')
    throw new ApplyFailure('divergence', statement, { mirrorRows: result.rowCount })
  }
}

/** Thrown by a `before` hook: another relay applied these rows first; nothing was applied here. */
export class Superseded extends Error {}

/**
 * The statement texts a mirror session holds as named prepared statements, so
 * that the mirror parses and plans each once: up to {@link PreparedTexts.MAX}
 * texts, then the rest go unnamed. A name is a digest of its text, never a
 * counter: behind a transaction-mode pooler a server session serves many
 * clients, and a name one of them made there must mean the same text to all. A statement is (re)made with Close and Parse
 * until a flight ran it; one found missing (26000: a transaction-mode pooler in
 * front of the mirror, or DISCARD ALL) makes them all be made again, and after
 * three such losses the session uses unnamed statements only.
 */
class PreparedTexts {
  static readonly MAX = 500
  readonly #names = new Map<string, { readonly name: string; parsed: boolean }>()
  #losses = 0

  step(statement: MirroredStatement): CountStep {
    const plain = { count: statement.sql, values: statement.parameters }
    if (this.#losses >= 3) return plain
    let entry = this.#names.get(statement.sql)
    if (entry === undefined) {
      if (this.#names.size >= PreparedTexts.MAX) return plain
      // Named by the text itself: a server session behind a pooler may hold a name
      // another client made, and a bound name must run the same text.
      const digest = createHash('sha256').update(statement.sql).digest('hex').slice(0, 40)
      entry = { name: `causeway_${digest}`, parsed: false }
      this.#names.set(statement.sql, entry)
    }
    return { ...plain, name: entry.name, parsed: entry.parsed }
  }

  /** The first `ran` of `steps` ran: their statements are in the session now. */
  ran(steps: readonly CountStep[], ran: number): void {
    for (const step of steps.slice(0, ran)) {
      const entry = step.name === undefined ? undefined : this.#names.get(step.count)
      if (entry) entry.parsed = true
    }
  }

  /** A named statement was missing: make every one again. */
  lost(): void {
    this.#losses++
    for (const entry of this.#names.values()) entry.parsed = false
  }
}

const sessions = new WeakMap<pg.ClientBase, PreparedTexts>()

function preparedTexts(client: pg.ClientBase): PreparedTexts {
  let texts = sessions.get(client)
  if (texts === undefined) {
    texts = new PreparedTexts()
    sessions.set(client, texts)
  }
  return texts
}
