import type pg from 'pg'
import type { ResolvedMirror } from '../config/mirror-schema.js'
import type { PgDriver } from '../driver/pg-driver.js'
import type { EventHub } from '../events/event-hub.js'
import { registerSecret } from '../util/redact.js'
import { MirrorHealth } from './mirror-health.js'
import type { MirroredStatement } from './mirrored-statement.js'
import { OutboxRelay, type PrimaryQuery } from './outbox-relay.js'
import { ReplayQueue } from './replay-queue.js'

/** One statement mirror in `status()`. */
export interface MirrorStatus {
  readonly name: string
  readonly mode: 'async' | 'sync'
  readonly durable: boolean
  readonly state: MirrorHealth['state']
  /**
   * In-memory mirrors: writes the primary acknowledged that wait for writes sent
   * before them to end, so as to be replayed in commit order. Not in the backlog yet.
   */
  readonly heldForOrder: number
  /** Statements (durable: transactions in the outbox) not yet applied, and their size. */
  readonly backlogStatements: number
  readonly backlogBytes: number
  /** How long the oldest write not yet applied has waited since the primary committed it. */
  readonly lagMillis: number
  readonly applied: number
  /** Replays that did not apply (each retry counts). */
  readonly failed: number
  /** Statements that will not be applied: dropped at a backlog overflow, or after the mirror went out of sync. */
  readonly notApplied: number
  /** Mirrored statements that call volatile functions (or `DEFAULT`). */
  readonly nondeterministic: number
  /** The last replay error, credentials removed. */
  readonly lastError: string | undefined
  /** Reads also sent to the mirror (`reads.sample`), their mean latency, and how many of them failed. */
  readonly sampledReads: number
  readonly sampledReadMillis: number
  readonly sampledReadErrors: number
}

/** Sampled reads in flight at once per mirror; more are not sampled (they would queue behind each other). */
const SAMPLE_CONCURRENCY = 2

/**
 * One independent database on which committed writes are replayed: its own `pg`
 * pool (never a routing target), its state, and either an in-memory replay queue
 * or, with `durable`, an outbox relay. Not the `sync` option's replica wait.
 */
export class StatementMirror {
  readonly name: string
  readonly config: ResolvedMirror
  readonly health: MirrorHealth
  readonly #pool: pg.Pool
  readonly #queue: ReplayQueue | undefined
  readonly #relay: OutboxRelay | undefined
  #sampling = 0
  #sampled = 0
  #sampledMillis = 0
  #sampleErrors = 0

  constructor(config: ResolvedMirror, driver: PgDriver, events: EventHub, primary: PrimaryQuery) {
    this.name = config.name
    this.config = config
    this.health = new MirrorHealth(config.name, events)
    registerSecret(passwordOf(config.connectionString))
    this.#pool = new driver.Pool({
      connectionString: config.connectionString,
      // The replay's connection, one for compareMirror, and the sampled reads'.
      max: 2 + (config.reads ? SAMPLE_CONCURRENCY : 0),
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 5_000,
      allowExitOnIdle: true,
      // A mirror that vanishes without a reset (a partition) is noticed by the kernel.
      keepAlive: true,
    })
    // Errors reach the replay through its next statement; an idle or checked-out
    // connection's own error event must not crash the process.
    this.#pool.on('error', () => {})
    this.#pool.on('connect', (client) => client.on('error', () => {}))
    const bounds = { ...config.backlog, gatherMillis: config.gatherMillis }
    this.#queue = config.durable ? undefined : new ReplayQueue(this.#pool, this.health, bounds)
    this.#relay = config.durable
      ? new OutboxRelay(config.name, this.#pool, primary, this.health, config.durable)
      : undefined
    this.#relay?.start()
  }

  /** Whether writes reach this mirror through the primary's outbox. */
  get durable(): boolean {
    return this.#relay !== undefined
  }

  /**
   * Queues a committed transaction for the in-memory replay; for a sync mirror,
   * returns a promise settled once it is applied (or never will be).
   */
  push(statements: readonly MirroredStatement[]): Promise<void> | undefined {
    return this.#queue?.push(statements, this.config.mode === 'sync')
  }

  /** A durable mirror's outbox has a new row. */
  wake(): void {
    this.#relay?.wake()
  }

  /** Sends a read to the mirror too, with probability `reads.sample`; its result is dropped. */
  sampleRead(sql: string, parameters: readonly unknown[]): void {
    const sample = this.config.reads?.sample
    if (!sample || this.#sampling >= SAMPLE_CONCURRENCY || Math.random() >= sample) return
    this.#sampling++
    const started = performance.now()
    this.#pool
      .query(sql, parameters as unknown[])
      .then(
        () => {
          this.#sampled++
          this.#sampledMillis += performance.now() - started
        },
        () => {
          this.#sampleErrors++
        },
      )
      .finally(() => {
        this.#sampling--
      })
  }

  /** This mirror in `status()`; `held`: its writes held for commit order (see `MirrorSet`). */
  status(held = 0): MirrorStatus {
    const health = this.health
    const backlog = this.#queue?.backlog ?? this.#relay!.backlog
    return {
      name: this.name,
      mode: this.config.mode,
      durable: this.durable,
      state: health.state,
      heldForOrder: held,
      backlogStatements: backlog.statements,
      backlogBytes: backlog.bytes,
      lagMillis: this.#queue?.lagMillis ?? this.#relay!.lagMillis,
      applied: health.applied,
      failed: health.failed,
      notApplied: health.notApplied,
      nondeterministic: health.nondeterministic,
      lastError: health.lastError,
      sampledReads: this.#sampled,
      sampledReadMillis:
        this.#sampled === 0 ? 0 : Math.round((this.#sampledMillis / this.#sampled) * 1000) / 1000,
      sampledReadErrors: this.#sampleErrors,
    }
  }

  /** A query on the mirror's pool (for `compareMirror`). */
  query(sql: string, parameters: unknown[] = []): Promise<pg.QueryResult> {
    return this.#pool.query(sql, parameters)
  }

  /** Stops replaying (an in-memory backlog is lost, and counted) and ends the pool. */
  async close(): Promise<void> {
    this.#queue?.close()
    await this.#relay?.close()
    await this.#pool.end()
  }
}

function passwordOf(text: string): string | undefined {
  try {
    return decodeURIComponent(new URL(text).password) || undefined
  } catch {
    return undefined
  }
}
