import type pg from 'pg'
import { CausewayError, WriteOutcomeUnknownError } from '../errors/causeway-error.js'
import { describeStatement } from '../events/event-hub.js'
import { failureKind } from '../health/failure-kind.js'
import type { AbandonableRead, DbNode } from '../topology/db-node.js'
import { redact } from '../util/redact.js'
import type { Engine, ExecutionContext } from './engine.js'
import { readTarget, readTargetNow } from './read-target.js'
import type { Statement, TransactionOptions } from './statement.js'

/** A cursor class such as `pg-cursor`'s, for streaming. */
export type CursorConstructor = new (text: string, values: unknown[]) => CursorLike

/** The part of `pg-cursor` streaming uses. */
export interface CursorLike {
  read(rowCount: number): Promise<unknown[]>
  close(): Promise<void>
}

/** A connection error that happened before anything was sent. */
class ConnectFailed extends Error {}

/**
 * A logical connection that routes each statement, binding to a real `pg`
 * connection lazily:
 *
 * - nothing is taken from a pool until the first statement;
 * - reads go to a replica that has replayed the scope's token (or the primary);
 *   a read that cannot reach its replica is retried on another, then the primary;
 * - the first write moves the connection to the primary, and it stays there: later
 *   reads see what it wrote, and session state (temporary tables, `SET`) lives there;
 * - a transaction runs on one node from `begin` to `commit`, never retried.
 */
export class RoutedConnection implements AbandonableRead {
  readonly #engine: Engine
  #node: DbNode | undefined
  #client: pg.PoolClient | undefined
  #onPrimary = false
  #inTransaction = false
  #transactionWrote = false
  #released = false
  /** The app ended this connection's session (`killSession`): nothing on it is retried. */
  #terminated = false
  /** Cancels a pool checkout that is waiting, when its node is abandoned. */
  #cancelCheckout: ((error: Error) => void) | undefined
  /** The server process the last statement on the primary path was sent to. */
  #sentPid: number | undefined

  constructor(engine: Engine) {
    this.#engine = engine
  }

  /** The node this connection is bound to, if any. */
  get node(): string | undefined {
    return this.#node?.name
  }

  /** Runs one statement where it belongs. */
  execute(statement: Statement): Promise<pg.QueryResult> {
    // Not async: every statement passes here, and each async layer costs a hop.
    if (this.#released || this.#engine.closed) return Promise.reject(this.#closedError())
    if (this.#inTransaction) {
      if (statement.intent !== 'read') this.#transactionWrote = true
      return this.#run(this.#node!, statement)
    }
    const context = this.#engine.context()
    if (statement.intent !== 'read' || statement.forcePrimary || context.onPrimary || this.#onPrimary) {
      return this.#executeOnPrimary(statement, context)
    }
    return this.#executeRead(statement, context)
  }

  /**
   * Streams rows in chunks through a cursor. Routed like `execute`; there is no
   * retry once rows flow, and a write's token is captured when the stream ends.
   */
  async *stream(
    statement: Statement,
    chunkSize: number,
    Cursor: CursorConstructor,
  ): AsyncIterableIterator<unknown[]> {
    this.#assertOpen()
    const context = this.#engine.context()
    let node = this.#node
    const write = statement.intent !== 'read'
    if (!this.#inTransaction) {
      const onPrimary = write || statement.forcePrimary || context.onPrimary || this.#onPrimary
      node = onPrimary
        ? await this.#engine.primary()
        : await readTarget(this.#engine, statement, context, this.#node, undefined)
      if (onPrimary) this.#onPrimary = true
    } else if (write) {
      this.#transactionWrote = true
    }
    const client = await this.#bind(node!)
    const cursor = client.query(
      new Cursor(statement.sql, [...statement.parameters]) as never,
    ) as unknown as CursorLike
    node!.inFlight++
    try {
      for (;;) {
        const rows = await cursor.read(chunkSize)
        if (rows.length === 0) break
        yield rows
      }
      node!.served++
    } finally {
      node!.inFlight--
      await cursor.close()
      // Also when the consumer stops early: closing the cursor completes the statement.
      if (write && !this.#inTransaction) {
        if (!this.#engine.topology.mayAcknowledge(node!)) await this.#confirmAcknowledged(node!, context)
        await this.#afterWrite(node!, context)
      }
    }
  }

  /** Starts a transaction: on a replica when it is `read only` and not serializable, else on the primary. */
  async begin(options: TransactionOptions = {}): Promise<void> {
    this.#assertOpen()
    if (this.#inTransaction)
      throw new CausewayError('TRANSACTION_STATE', 'a transaction is already open on this connection')
    const context = this.#engine.context()
    const onReplica =
      options.accessMode === 'read only' &&
      options.isolationLevel !== 'serializable' &&
      !context.onPrimary &&
      !this.#onPrimary
    const node = onReplica
      ? await readTarget(
          this.#engine,
          { sql: options.sql ?? 'begin', parameters: [], intent: 'read' },
          context,
          this.#node,
          undefined,
        )
      : await this.#engine.primary()
    if (!onReplica) this.#onPrimary = true
    await this.#bind(node)
    // Tagged for the `statement` event by where it runs: transaction control is a
    // write on the primary, a read on a replica.
    const intent = node.role === 'replica' ? 'read' : 'write'
    await this.#run(node, { sql: options.sql ?? 'begin', parameters: [], intent })
    this.#inTransaction = true
    this.#transactionWrote = false
  }

  /**
   * Commits, then captures the token of what the transaction wrote. Returns the
   * command tag: `'ROLLBACK'` when an earlier error had aborted the transaction.
   */
  async commit(): Promise<string> {
    const node = this.#requireTransaction('commit')
    const topology = this.#engine.topology
    // A failover is deciding whether to replace this node: a COMMIT now could be
    // lost with the old timeline, so learn the decision first.
    if (this.#transactionWrote && node.role !== 'replica' && !topology.mayAcknowledge(node)) {
      await topology.demotionSettled()
    }
    if (this.#transactionWrote && node.role !== 'replica' && !topology.mayAcknowledge(node)) {
      // Fenced, or replaced as the primary, since the transaction began (an old
      // primary after a failover): its writes must not commit there.
      await this.rollback().catch(() => {})
      throw new CausewayError(
        'NODE_FENCED',
        `the transaction was rolled back: ${node.name} ${node.fencedBecause ? `is fenced (${node.fencedBecause})` : 'is no longer the primary'}`,
        {
          node: node.name,
        },
      )
    }
    let command: string
    try {
      const intent = node.role === 'replica' ? 'read' : 'write'
      command = (await this.#run(node, { sql: 'commit', parameters: [], intent })).command
    } catch (error) {
      if (this.#transactionWrote && failureKind(error) === 'connection') {
        this.#engine.context().scope?.markUncertain(this.#engine.recovery(node, this.#sentPid))
        throw new WriteOutcomeUnknownError(
          `the connection to ${node.name} failed during COMMIT: the transaction may or may not have committed`,
          { cause: error, node: node.name },
        )
      }
      throw error
    } finally {
      this.#inTransaction = false
    }
    if (
      command === 'COMMIT' &&
      this.#transactionWrote &&
      node.role !== 'replica' &&
      !topology.mayAcknowledge(node)
    ) {
      await this.#confirmAcknowledged(node, this.#engine.context())
    }
    // Every committed transaction on the primary is captured: one whose only writes
    // the classifier cannot see (a function) must still be read back.
    if (command === 'COMMIT' && node.role !== 'replica') {
      await this.#afterWrite(node, this.#engine.context(), this.#transactionWrote)
    }
    return command
  }

  /**
   * Rolls back; nothing was written, so nothing is captured. With no transaction
   * open (a COMMIT that failed already ended it, or its connection was lost) this
   * does nothing, as PostgreSQL only warns: the caller must see the COMMIT's own
   * error, not one from the rollback that follows it.
   */
  async rollback(): Promise<void> {
    if (!this.#inTransaction) return
    const node = this.#node
    if (!node || !this.#client) {
      this.#inTransaction = false
      return
    }
    try {
      const intent = node.role === 'replica' ? 'read' : 'write'
      await this.#run(node, { sql: 'rollback', parameters: [], intent })
    } finally {
      this.#inTransaction = false
    }
  }

  /**
   * Cancels the statement running on this connection (`pg_cancel_backend`), sent
   * to the node the connection is bound to over a side connection: a control
   * statement through the router could land on another server. No-op when unbound.
   */
  async cancel(): Promise<void> {
    const node = this.#node
    const pid = backendPid(this.#client)
    if (node && pid) await this.#engine.control(node, 'select pg_cancel_backend($1)', [pid])
  }

  /** Ends this connection's server session (`pg_terminate_backend`). */
  async terminate(): Promise<void> {
    const node = this.#node
    const pid = backendPid(this.#client)
    // The read running here fails with the lost session; it must not be retried
    // elsewhere as if its node had crashed.
    this.#terminated = true
    if (node && pid) await this.#engine.control(node, 'select pg_terminate_backend($1)', [pid])
  }

  /** Whether a transaction is open. */
  get inTransaction(): boolean {
    return this.#inTransaction
  }

  /** Returns the underlying connection to its pool. Safe to call twice. */
  release(): void {
    if (this.#released) return
    this.#released = true
    this.#unbind()
  }

  async #executeOnPrimary(
    statement: Statement,
    context: ExecutionContext,
    retryOn?: DbNode,
  ): Promise<pg.QueryResult> {
    const token = context.scope?.token
    if (!retryOn && token && token.timeline > this.#engine.topology.timeline) {
      // The scope has seen a newer timeline than this process: a failover it has not
      // noticed yet. Writing to the primary it knows could write to an old one.
      await this.#engine.refreshForNewerToken()
    }
    const node = retryOn ?? this.#engine.topology.primary ?? (await this.#engine.primary())
    this.#onPrimary = true
    let result: pg.QueryResult
    try {
      result = await this.#run(node, statement)
    } catch (error) {
      const kind = error instanceof ConnectFailed ? 'connect' : failureKind(error)
      if (kind === 'read-only') {
        // 25006 on the node we took for the primary: it is a standby now. Nothing
        // ran, so once the topology shows the real primary, one retry is safe.
        await this.#engine.refreshTopology()
        const next = this.#engine.topology.primary
        if (!next || next === node) throw error
        this.#unbind()
        result = await this.#run(next, statement)
        if (statement.intent !== 'read') {
          if (!this.#engine.topology.mayAcknowledge(next)) await this.#confirmAcknowledged(next, context)
          await this.#afterWrite(next, context)
        }
        return result
      }
      if (kind === 'connect') {
        // Nothing was sent, so trying again is safe: on a new primary after a
        // failover, or this one once it is back, within writeWaitMillis.
        const cause = (error as Error).cause
        this.#engine.reportFailure(node, cause)
        if (this.#engine.config.writeWaitMillis > 0 && !retryOn) {
          const next = await this.#engine.primary(node).catch(() => undefined)
          if (next) return this.#executeOnPrimary(statement, context, next)
        }
        throw new CausewayError(
          'NODE_UNAVAILABLE',
          `cannot reach the primary ${node.name}; the statement was not sent`,
          {
            cause,
            node: node.name,
          },
        )
      }
      if (kind === 'connection' && statement.intent !== 'read') {
        context.scope?.markUncertain(this.#engine.recovery(node, this.#sentPid))
        throw new WriteOutcomeUnknownError(
          `the connection to the primary ${node.name} failed while a write was in flight: it may or may not have ` +
            `committed, and it was not retried (${(error as Error).message})`,
          { cause: error, node: node.name },
        )
      }
      if (kind === 'statement' && statement.intent !== 'read') {
        // The write failed on what the primary has committed (a unique violation
        // shows another writer's row). A read that checks again must see that state,
        // as Kysely's Migrator expects: capture it like a write, then rethrow.
        await this.#afterWrite(node, context, false).catch(() => {})
      }
      throw error
    }
    if (statement.intent !== 'read') {
      if (!this.#engine.topology.mayAcknowledge(node)) await this.#confirmAcknowledged(node, context)
      await this.#afterWrite(node, context)
    }
    // A forced read may call a function that writes: capture, cheaply, just in case.
    else if (statement.forcePrimary || context.onPrimary) await this.#afterWrite(node, context, false)
    return result
  }

  /**
   * A read, with its retries: on another replica after a connection-level failure,
   * then on the primary; once on the primary after a 25006. The query and its
   * accounting are inline rather than in `#run`, to keep the common path to one
   * async layer.
   */
  async #executeRead(statement: Statement, context: ExecutionContext): Promise<pg.QueryResult> {
    const engine = this.#engine
    let tried: Set<DbNode> | undefined
    let retrying: { from: DbNode; error: unknown } | undefined
    for (;;) {
      const node =
        readTargetNow(engine, statement, context, this.#node, tried) ??
        (await readTarget(engine, statement, context, this.#node, tried))
      if (retrying) {
        engine.events.emit('read-retried', {
          from: retrying.from.name,
          to: node.name,
          error: redact(String((retrying.error as Error).message)),
          statement: describeStatement(statement.sql),
        })
        retrying = undefined
      }
      node.inFlight++
      const started = performance.now()
      let failure: unknown
      try {
        // Only a replica's reads can be cut off and retried: the primary is the last resort.
        if (node !== engine.topology.primary) node.reads.add(this)
        const client = this.#node === node && this.#client ? this.#client : await this.#bind(node)
        const result = await client.query(statement.sql, statement.parameters as unknown[])
        node.served++
        return result
      } catch (error) {
        failure = error
        const kind = error instanceof ConnectFailed ? 'connection' : failureKind(error)
        if (kind === 'connection') this.#unbind(error)
        const primary = engine.topology.primary
        if (kind === 'read-only' && node !== primary) {
          // A replica refused a "read": it writes after all (a user function, say).
          // Nothing ran there, so run it once on the primary, and say so.
          engine.stats.misclassifiedWrites++
          engine.events.emit('misclassified-write', {
            node: node.name,
            statement: describeStatement(statement.sql),
            intent: statement.intent,
          })
          return this.#executeOnPrimary({ ...statement, intent: 'write' }, context)
        }
        if (kind !== 'connection' || this.#terminated) throw error
        if (node === primary) {
          throw new CausewayError(
            'NODE_UNAVAILABLE',
            `cannot reach ${node.name}, the last node this read could use`,
            {
              cause: unwrapCause(error),
              node: node.name,
            },
          )
        }
        tried ??= new Set()
        tried.add(node)
        engine.reportFailure(node, unwrapCause(error))
        engine.stats.readRetries++
        retrying = { from: node, error: unwrapCause(error) }
      } finally {
        node.reads.delete(this)
        this.#finished(node, statement, started, failure)
      }
    }
  }

  /**
   * Cuts off the read running on this connection: its node stopped answering. The
   * socket is destroyed with a connection-level error, so the read loop retries the
   * read on another node (reads are idempotent) and the client is not reused.
   */
  abandon(reason: string): void {
    const error = Object.assign(new Error(reason), { code: 'ETIMEDOUT' })
    if (this.#cancelCheckout) {
      // Still waiting for a connection (a new one to a frozen server waits for the
      // connect timeout): stop waiting.
      this.#cancelCheckout(error)
      return
    }
    const stream = (
      this.#client as unknown as { connection?: { stream?: NodeJS.ReadWriteStream } } | undefined
    )?.connection?.stream as { destroy?: (error: Error) => void } | undefined
    stream?.destroy?.(error)
  }

  /**
   * A pool checkout that has to wait (no idle client): it fails as CLOSED when the
   * cluster closes, and with a connection error when the node is abandoned. A
   * client that arrives after either goes straight back to its pool.
   */
  #checkout(pool: pg.Pool): Promise<pg.PoolClient> {
    return new Promise<pg.PoolClient>((resolve, reject) => {
      let settled = false
      let unwatch = () => {}
      const settle = () => {
        settled = true
        this.#cancelCheckout = undefined
        unwatch()
      }
      const fail = (error: unknown) => {
        if (settled) return
        settle()
        reject(error)
      }
      this.#cancelCheckout = fail
      pool.connect().then((client) => {
        if (settled) return client.release()
        settle()
        resolve(client)
      }, fail)
      unwatch = this.#engine.watchCheckout(fail)
    })
  }

  /**
   * A write `node` acknowledged while a failover was deciding whether to replace
   * it, or after it was replaced: it counts only if `node` is still the primary
   * once the failover has decided. Otherwise it committed on a timeline the new
   * primary does not continue, so the app must not take it as done.
   */
  async #confirmAcknowledged(node: DbNode, context: ExecutionContext): Promise<void> {
    const topology = this.#engine.topology
    await topology.demotionSettled()
    if (topology.mayAcknowledge(node)) return
    context.scope?.markUncertain(this.#engine.recovery(node, undefined))
    const now = topology.lastPrimary
    throw new WriteOutcomeUnknownError(
      `${node.name} acknowledged the write, but it is no longer the primary` +
        `${now && now !== node ? ` (${now.name} is)` : ''}: the write may be missing from the current primary, ` +
        'and it was not retried',
      { node: node.name },
    )
  }

  /**
   * After a statement on the primary: capture its token (in the background) and,
   * for a write, mirror it when asked. `mirror` is false for forced-primary reads,
   * captured only because they may call functions that write.
   */
  async #afterWrite(
    node: DbNode,
    context: ExecutionContext = this.#engine.context(),
    mirror = true,
  ): Promise<void> {
    const engine = this.#engine
    const scope = context.scope
    const mirrors = mirror && engine.mirrors(scope)
    if (mirrors) {
      // Mirroring needs this write's position now.
      await engine.mirrorWrite(scope, engine.captureWrite(node, scope))
    } else if (scope) {
      if (engine.config.consistency.capture === 'eager') engine.captureWrite(node, scope)
      else engine.deferCapture(node, scope)
    }
  }

  async #run(node: DbNode, statement: Statement): Promise<pg.QueryResult> {
    const client = this.#node === node && this.#client ? this.#client : await this.#bind(node)
    this.#sentPid = backendPid(client)
    node.inFlight++
    const started = performance.now()
    let failure: unknown
    try {
      const result = await client.query(statement.sql, statement.parameters as unknown[])
      node.served++
      return result
    } catch (error) {
      failure = error
      if (failureKind(error) === 'connection') this.#unbind(error)
      throw error
    } finally {
      this.#finished(node, statement, started, failure)
    }
  }

  /** The accounting after a statement: in-flight count, latency EWMA, the `statement` event. */
  #finished(node: DbNode, statement: Statement, started: number, failure: unknown): void {
    node.inFlight--
    const elapsed = performance.now() - started
    node.recordLatency(elapsed)
    if (this.#engine.events.has('statement')) this.#report(node, statement, elapsed, failure)
  }

  #report(node: DbNode, statement: Statement, durationMillis: number, failure: unknown): void {
    this.#engine.events.emit('statement', {
      node: node.name,
      role: node.role,
      intent: statement.intent,
      statement: describeStatement(statement.sql),
      durationMillis,
      ...(failure === undefined ? {} : { error: redact(String((failure as Error).message ?? failure)) }),
    })
  }

  async #bind(node: DbNode): Promise<pg.PoolClient> {
    if (this.#node === node && this.#client) return this.#client
    if (this.#inTransaction) {
      throw new CausewayError(
        'TRANSACTION_STATE',
        'the connection of this transaction was lost; roll it back',
      )
    }
    this.#unbind()
    // A new server session: a killSession() of the previous one no longer applies.
    this.#terminated = false
    const pool = node.pool
    // A checkout served by an idle client completes on the next tick; only one that
    // queues can outlive close(), so only that one is watched (no extra promise per
    // statement). Idle clients are handed out a tick later, hence the count of
    // checkouts still waiting for theirs.
    const idle = pool.idleCount > node.checkouts
    node.checkouts++
    try {
      this.#client = idle ? await pool.connect() : await this.#checkout(pool)
    } catch (cause) {
      if (cause instanceof CausewayError) throw cause
      throw new ConnectFailed(`cannot connect to ${node.name}`, { cause })
    } finally {
      node.checkouts--
    }
    this.#node = node
    return this.#client
  }

  #unbind(error?: unknown): void {
    const client = this.#client
    this.#client = undefined
    this.#node = undefined
    // A client that failed at the connection level is destroyed, not reused.
    client?.release(error instanceof Error ? error : undefined)
  }

  #requireTransaction(what: string): DbNode {
    if (!this.#inTransaction || !this.#node) {
      throw new CausewayError(
        'TRANSACTION_STATE',
        `cannot ${what}: no transaction is open on this connection`,
      )
    }
    return this.#node
  }

  #closedError(): CausewayError {
    return new CausewayError(
      'CLOSED',
      this.#released ? 'this connection was released' : 'the cluster is closed',
    )
  }

  #assertOpen(): void {
    if (this.#released) throw new CausewayError('CLOSED', 'this connection was released')
    if (this.#engine.closed) throw new CausewayError('CLOSED', 'the cluster is closed')
  }
}

function unwrapCause(error: unknown): unknown {
  return error instanceof ConnectFailed ? error.cause : error
}

/** The server process of a pg client, from its BackendKeyData (not in pg's types). */
function backendPid(client: pg.PoolClient | undefined): number | undefined {
  return (client as unknown as { processID?: number } | undefined)?.processID
}
