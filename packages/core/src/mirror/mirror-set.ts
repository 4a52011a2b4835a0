import { volatileCalls } from '../classify/volatile-functions.js'
import type { ResolvedMirror } from '../config/mirror-schema.js'
import type { PgDriver } from '../driver/pg-driver.js'
import { CausewayError } from '../errors/causeway-error.js'
import { describeStatement, type EventHub } from '../events/event-hub.js'
import type { Statement } from '../model/statement.js'
import { CommitOrder, type FlightTicket, type WalPosition } from './commit-order.js'
import type { MirroredStatement } from './mirrored-statement.js'
import { createOnce, type PrimaryQuery } from './outbox-relay.js'
import { CREATE_OUTBOX, INSERT_OUTBOX, type OutboxStatement } from './outbox-sql.js'
import { encodeParameters } from './parameter-codec.js'
import { type MirrorStatus, StatementMirror } from './statement-mirror.js'

/** Distinct statement texts remembered as already reported by `mirror-nondeterministic`. */
const FLAGGED_TEXTS = 1_000

/** A committed write held in commit order, and the sync mirrors' waits for it. */
interface OrderedWrite {
  readonly statements: readonly MirroredStatement[]
  readonly waits: Map<StatementMirror, { resolve(): void; reject(error: unknown): void }> | undefined
}

/**
 * Every statement mirror of a cluster, as the connections see them: `admit` before
 * a write runs (the `volatile: 'refuse'` check), `committed` once the primary
 * acknowledged it (queued for each mirror; for sync mirrors, waited for), the
 * outbox statement a durable transaction ends with, and sampled reads. Only built
 * when `mirrors` is configured: without it the connections pay one `undefined` check.
 */
export class MirrorSet {
  readonly mirrors: readonly StatementMirror[]
  /** Whether any mirror is durable: then every mirrored write carries an outbox row. */
  readonly durable: boolean
  /** Whether any mirror samples reads. */
  readonly samplesReads: boolean
  readonly #events: EventHub
  readonly #primary: PrimaryQuery
  readonly #refusing: readonly string[]
  readonly #durableNames: readonly string[]
  readonly #flagged = new Set<string>()
  /** The mirrors replayed from memory in commit order (`order: 'commit'`, the default). */
  readonly #inOrder: readonly StatementMirror[]
  /** The mirrors replayed from memory in acknowledgement order (`order: 'acknowledgement'`). */
  readonly #asAcknowledged: readonly StatementMirror[]
  readonly #order = new CommitOrder<OrderedWrite>()
  #outbox: Promise<void> | undefined

  constructor(configs: readonly ResolvedMirror[], driver: PgDriver, events: EventHub, primary: PrimaryQuery) {
    this.#events = events
    this.#primary = primary
    this.mirrors = configs.map((config) => new StatementMirror(config, driver, events, primary))
    this.#refusing = configs.filter((c) => c.volatile === 'refuse').map((c) => c.name)
    this.#durableNames = configs.filter((c) => c.durable).map((c) => c.name)
    this.durable = this.#durableNames.length > 0
    this.samplesReads = configs.some((c) => c.reads !== undefined && c.reads.sample > 0)
    this.#inOrder = this.mirrors.filter((m) => !m.durable && m.config.order === 'commit')
    this.#asAcknowledged = this.mirrors.filter((m) => !m.durable && m.config.order === 'acknowledgement')
    this.ordered = this.#inOrder.length > 0
  }

  /**
   * Whether writes must read their commit position (see `positionedWrite`): some
   * mirror replays from memory in the primary's commit order. A durable mirror's
   * outbox has its own order; an `order: 'acknowledgement'` mirror needs none.
   */
  readonly ordered: boolean

  /** Just before a write (an autocommit statement, or a COMMIT) is sent to the primary, when {@link ordered}. */
  start(): FlightTicket {
    return this.#order.start()
  }

  /** The write of `ticket` failed, or its outcome is unknown: it is not mirrored, and no longer holds others back. */
  ended(ticket: FlightTicket): void {
    this.#dispatch(this.#order.ended(ticket))
  }

  /**
   * Before a write runs on the primary: with a `volatile: 'refuse'` mirror, a
   * statement calling a volatile function is rejected here, so that it commits
   * nowhere and the primary and its mirrors stay alike.
   */
  admit(statement: Statement): void {
    if (this.#refusing.length === 0) return
    const functions = volatileCalls(statement.sql)
    if (functions.length === 0) return
    this.#flag(statement.sql, functions, true)
    throw new CausewayError(
      'MIRROR_REFUSED',
      `the statement was not run: it calls ${functions.map((f) => (f === 'default' ? 'DEFAULT' : `${f}()`)).join(', ')}, ` +
        `which would give the mirror ${this.#refusing.map((n) => `"${n}"`).join(', ')} another value than the primary ` +
        `(volatile: 'refuse'). Compute the value in the application and pass it as a parameter.`,
    )
  }

  /**
   * The primary acknowledged these statements (one autocommit statement, or a
   * committed transaction's writes): each mirror replays them, the in-memory ones
   * in commit order, by `position` (the write's {@link start} ticket and the
   * position it read before committing). Returns a promise when a sync mirror must
   * apply them first; it rejects with `MIRROR_NOT_APPLIED`.
   */
  committed(
    statements: readonly MirroredStatement[],
    ticket?: FlightTicket,
    position?: WalPosition,
  ): Promise<void> | undefined {
    let volatile = 0
    for (const statement of statements) {
      const functions = volatileCalls(statement.sql)
      if (functions.length > 0) {
        volatile++
        this.#flag(statement.sql, functions, false)
      }
    }
    for (const mirror of this.mirrors) {
      mirror.health.nondeterministic += volatile
      if (mirror.durable) mirror.wake()
    }
    let waits: Promise<void>[] | undefined
    for (const mirror of this.#asAcknowledged) {
      const applied = mirror.push(statements)
      if (!applied) continue
      waits ??= []
      waits.push(this.#waitFor(mirror, applied))
    }
    if (this.#inOrder.length === 0) return waits === undefined ? undefined : Promise.all(waits).then(() => {})
    let deferred: OrderedWrite['waits']
    for (const mirror of this.#inOrder) {
      if (mirror.config.mode !== 'sync') continue
      deferred ??= new Map()
      waits ??= []
      const applied = new Promise<void>((resolve, reject) => deferred!.set(mirror, { resolve, reject }))
      waits.push(this.#waitFor(mirror, applied))
    }
    const write: OrderedWrite = { statements, waits: deferred }
    this.#dispatch(ticket === undefined ? [write] : this.#order.acknowledged(ticket, position, write))
    return waits === undefined ? undefined : Promise.all(waits).then(() => {})
  }

  /** Writes released in commit order: each in-memory mirror queues them. */
  #dispatch(writes: readonly OrderedWrite[]): void {
    for (const write of writes) {
      for (const mirror of this.#inOrder) {
        const applied = mirror.push(write.statements)
        const waiting = write.waits?.get(mirror)
        if (!waiting) continue
        if (applied) applied.then(waiting.resolve, waiting.reject)
        else waiting.resolve()
      }
    }
  }

  /**
   * The statement a durable transaction runs just before its COMMIT: the advisory
   * lock, then one outbox row per durable mirror holding `statements`.
   */
  async outboxStatement(statements: readonly MirroredStatement[]): Promise<Statement> {
    await this.ensureOutbox()
    const rows: OutboxStatement[] = statements.map((s) => ({
      sql: s.sql,
      parameters: encodeParameters(s.parameters),
      rows: s.rows,
    }))
    return { sql: INSERT_OUTBOX, parameters: [this.#durableNames, JSON.stringify(rows)], intent: 'write' }
  }

  /** Creates the outbox on the primary, once (again after a failure). */
  ensureOutbox(): Promise<void> {
    this.#outbox ??= createOnce((sql) => this.#primary(sql, []), CREATE_OUTBOX).catch((error: unknown) => {
      this.#outbox = undefined
      throw error
    })
    return this.#outbox
  }

  /** A read answered by the primary or a replica: sampled mirrors get it too. */
  sampleRead(statement: Statement): void {
    for (const mirror of this.mirrors) mirror.sampleRead(statement.sql, statement.parameters)
  }

  status(): MirrorStatus[] {
    const held = this.#order.held
    return this.mirrors.map((mirror) => mirror.status(this.#inOrder.includes(mirror) ? held : 0))
  }

  byName(name: string): StatementMirror | undefined {
    return this.mirrors.find((mirror) => mirror.name === name)
  }

  async close(): Promise<void> {
    const closing = this.mirrors.map((mirror) => mirror.close())
    // Writes still held for order reach the closed queues, which count them as not applied.
    this.#dispatch(this.#order.drain())
    const results = await Promise.allSettled(closing)
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((r) => r.reason),
        'some mirrors did not close cleanly',
      )
  }

  /** A sync mirror's wait, bounded by its `timeoutMillis`. Never says the write failed: it committed. */
  #waitFor(mirror: StatementMirror, applied: Promise<void>): Promise<void> {
    const millis = mirror.config.timeoutMillis
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), millis)
      timer.unref()
    })
    return Promise.race([applied.then(() => 'applied' as const), timeout]).then(
      (outcome) => {
        clearTimeout(timer)
        if (outcome === 'applied') return
        throw new CausewayError(
          'MIRROR_NOT_APPLIED',
          `the write committed on the primary, but the mirror "${mirror.name}" has not applied it within ${millis} ms; ` +
            'it stays queued and is applied when the mirror answers',
          { node: mirror.name },
        )
      },
      (cause: unknown) => {
        clearTimeout(timer)
        throw new CausewayError(
          'MIRROR_NOT_APPLIED',
          `the write committed on the primary, but the mirror "${mirror.name}" will not apply it: the mirror is ` +
            `${mirror.health.state} (status().mirrors shows why)`,
          { node: mirror.name, cause },
        )
      },
    )
  }

  #flag(sql: string, functions: readonly string[], refused: boolean): void {
    if (this.#flagged.has(sql)) return
    if (this.#flagged.size >= FLAGGED_TEXTS) this.#flagged.clear()
    this.#flagged.add(sql)
    this.#events.emit('mirror-nondeterministic', {
      statement: describeStatement(sql),
      functions,
      mirrors: this.mirrors.map((m) => m.name),
      refused,
    })
  }
}
