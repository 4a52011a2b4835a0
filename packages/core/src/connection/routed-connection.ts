import type pg from 'pg'
import type { Lsn } from '../consistency/lsn.js'
import type { ExecutionContext } from '../consistency/scope-context.js'
import type { ConsistencyToken } from '../consistency/token.js'
import { CausewayError, WriteOutcomeUnknownError } from '../errors/causeway-error.js'
import { failureKind } from '../errors/failure-kind.js'
import { describeStatement } from '../events/event-hub.js'
import type { FlightTicket } from '../mirror/commit-order.js'
import type { MirroredStatement } from '../mirror/mirrored-statement.js'
import type { CursorConstructor, CursorLike } from '../model/cursor.js'
import type { Statement, TransactionOptions } from '../model/statement.js'
import type { RouteNote } from '../routing/read-planner.js'
import type { DbNode } from '../topology/db-node.js'
import {
  errorCodeOf,
  type RouteReason,
  type StatementTraceContext,
  statementChannel,
} from '../tracing/trace-channels.js'
import { countRows, statementContext, traceStatement } from '../tracing/trace-statement.js'
import { redact } from '../util/redact.js'
import { BoundClient, ConnectFailed } from './bound-client.js'
import { beganWrite, flightCommit, type Positioned, positionedWrite } from './commit-position.js'
import type { ConnectionParts } from './connection-parts.js'
import { replayCheckedQuery } from './replay-checked-query.js'
import { finishStatement } from './statement-accounting.js'

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
export class RoutedConnection {
  readonly #parts: ConnectionParts
  readonly #bound: BoundClient
  #onPrimary = false
  #inTransaction = false
  #transactionWrote = false
  #released = false
  /** The app ended this connection's session (`killSession`): nothing on it is retried. */
  #terminated = false
  /** The server process the last statement on the primary path was sent to. */
  #sentPid: number | undefined
  /** The statement running now, by its `queryId`, for a guarded cancel; `undefined` when idle. */
  #running: Statement | undefined
  /** Where the planner says why it chose a node; made only once a statement is traced. */
  #note: RouteNote | undefined
  /** The writes of the open transaction, for the statement mirrors: only when `mirrors` is set. */
  #mirrorLog: MirroredStatement[] | undefined

  /** Made by `cluster.connect()`. */
  constructor(parts: ConnectionParts) {
    this.#parts = parts
    this.#bound = new BoundClient(parts.checkouts)
  }

  /** The node this connection is bound to, if any. */
  get node(): string | undefined {
    return this.#bound.node?.name
  }

  /** Whether a transaction is open. */
  get inTransaction(): boolean {
    return this.#inTransaction
  }

  /** Runs one statement where it belongs. */
  execute(statement: Statement): Promise<pg.QueryResult> {
    // Not async: every statement passes here, and each async layer costs a hop.
    if (this.#released || this.#parts.checkouts.closed) return Promise.reject(this.#closedError())
    if (this.#inTransaction) {
      if (statement.intent !== 'read') {
        this.#transactionWrote = true
        if (this.#mirrorLog) return this.#runLogged(statement)
      }
      return this.#run(this.#bound.node!, statement, 'transaction')
    }
    const context = this.#parts.scopes.current()
    const mirrors = this.#parts.mirrors
    if (this.#wantsPrimary(statement, context)) {
      if (mirrors && statement.intent !== 'read') return this.#executeMirrored(statement, context)
      return this.#executeOnPrimary(statement, context)
    }
    const read = this.#executeRead(statement, context)
    if (mirrors?.samplesReads)
      read.then(
        () => mirrors.sampleRead(statement),
        () => {},
      )
    return read
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
    const parts = this.#parts
    const write = statement.intent !== 'read'
    if (write && parts.mirrors && !this.#inTransaction) {
      yield* this.#streamInTransaction(statement, chunkSize, Cursor)
      return
    }
    const context = parts.scopes.current()
    let node = this.#bound.node
    const note = statementChannel.hasSubscribers ? this.#routeNote() : undefined
    if (!this.#inTransaction) {
      const onPrimary = this.#wantsPrimary(statement, context)
      if (note && onPrimary) note.reason = this.#primaryReason(statement, context)
      node = onPrimary
        ? await parts.primaries.primary()
        : await parts.planner.plan(statement, context.scope, this.#bound.node, undefined, note)
      if (onPrimary) this.#onPrimary = true
    } else {
      if (note) note.reason = 'transaction'
      if (write) this.#transactionWrote = true
    }
    const mirrors = write ? parts.mirrors : undefined
    mirrors?.admit(statement)
    let client = await this.#bind(node!)
    if (!this.#inTransaction && node!.role === 'replica') {
      ;[node, client] = await this.#proveFirst(node!, client, context.scope?.token, statement, note)
    }
    // A stream is traced by hand: its rows arrive across yields, which no
    // TracingChannel helper spans.
    const trace =
      note && statementChannel.hasSubscribers
        ? statementContext(node!, client, statement, note.reason)
        : undefined
    if (trace) statementChannel.start.publish(trace)
    let cursor: CursorLike
    try {
      cursor = client.query(
        new Cursor(statement.sql, [...statement.parameters]) as never,
      ) as unknown as CursorLike
    } finally {
      if (trace) statementChannel.end.publish(trace)
    }
    node!.inFlight++
    this.#running = statement
    let rowCount = 0
    let failed = false
    let exhausted = false
    try {
      for (;;) {
        const rows = await cursor.read(chunkSize)
        if (rows.length === 0) break
        rowCount += rows.length
        yield rows
      }
      exhausted = true
      node!.served++
    } catch (error) {
      failed = true
      if (trace) {
        trace.errorCode = errorCodeOf(error)
        trace.error = error
        statementChannel.error.publish(trace)
      }
      throw error
    } finally {
      node!.inFlight--
      this.#running = undefined
      if (trace) finishTrace(trace, failed ? undefined : rowCount)
      await cursor.close()
      // Also when the consumer stops early: closing the cursor completes the statement.
      if (write && !this.#inTransaction) {
        if (!parts.topology.mayAcknowledge(node!))
          await parts.writes.confirmAcknowledged(node!, context.scope)
        const mirroring = parts.writes.afterWrite(node!, context.scope)
        if (mirroring) await mirroring
      }
      // A mirrored write streams in a transaction (#streamInTransaction). Its rows
      // are counted only when the consumer read them all.
      if (mirrors && !failed)
        this.#mirrorLog?.push({
          sql: statement.sql,
          parameters: statement.parameters,
          rows: exhausted ? rowCount : null,
        })
    }
  }

  /**
   * A write streamed outside a transaction, with statement mirrors: run in a
   * transaction of its own, so that its COMMIT carries the outbox row (durable
   * mirrors) or reads its commit position (in-memory ones), as every other write.
   * A consumer that stops early still commits: the statement ran whole.
   */
  async *#streamInTransaction(
    statement: Statement,
    chunkSize: number,
    Cursor: CursorConstructor,
  ): AsyncIterableIterator<unknown[]> {
    await this.begin()
    let failed = false
    try {
      yield* this.stream(statement, chunkSize, Cursor)
    } catch (error) {
      failed = true
      await this.rollback().catch(() => {})
      throw error
    } finally {
      if (!failed) await this.commit()
    }
  }

  /** Starts a transaction: on a replica when it is `read only` and not serializable, else on the primary. */
  async begin(options: TransactionOptions = {}): Promise<void> {
    this.#assertOpen()
    if (this.#inTransaction)
      throw new CausewayError('TRANSACTION_STATE', 'a transaction is already open on this connection')
    const parts = this.#parts
    const context = parts.scopes.current()
    const sql = options.sql ?? 'begin'
    const onReplica =
      options.accessMode === 'read only' &&
      options.isolationLevel !== 'serializable' &&
      !context.onPrimary &&
      !this.#onPrimary
    const statement: Statement = { sql, parameters: [], intent: 'read' }
    let node = onReplica
      ? await parts.planner.plan(statement, context.scope, this.#bound.node, undefined)
      : await parts.primaries.primary()
    if (!onReplica) this.#onPrimary = true
    const client = await this.#bind(node)
    // The transaction's snapshot is taken by its first statement, after this check.
    if (node.role === 'replica')
      [node] = await this.#proveFirst(node, client, context.scope?.token, statement)
    await this.#run(node, control(node, sql), 'transaction')
    this.#inTransaction = true
    this.#transactionWrote = false
    this.#mirrorLog = parts.mirrors && node.role !== 'replica' ? [] : undefined
  }

  /**
   * Commits, then captures the token of what the transaction wrote. Returns the
   * command tag: `'ROLLBACK'` when an earlier error had aborted the transaction.
   */
  async commit(): Promise<string> {
    const node = this.#requireTransaction('commit')
    const { topology, writes, scopes } = this.#parts
    const wrotePrimary = this.#transactionWrote && node.role !== 'replica'
    // A failover is deciding whether to replace this node: a COMMIT now could be
    // lost with the old timeline, so learn the decision first.
    if (wrotePrimary && !topology.mayAcknowledge(node)) await topology.demotionSettled()
    if (wrotePrimary && !topology.mayAcknowledge(node)) {
      // Fenced, or replaced as the primary, since the transaction began (an old
      // primary after a failover): its writes must not commit there.
      await this.rollback().catch(() => {})
      throw new CausewayError(
        'NODE_FENCED',
        `the transaction was rolled back: ${node.name} ${node.fencedBecause ? `is fenced (${node.fencedBecause})` : 'is no longer the primary'}`,
        { node: node.name },
      )
    }
    const mirrorLog = this.#mirrorLog?.length ? this.#mirrorLog : undefined
    this.#mirrorLog = undefined
    const mirrors = mirrorLog ? this.#parts.mirrors : undefined
    // The outbox row (durable mirrors) and the position read (in-memory ones) ride in the COMMIT's flight.
    const outbox = mirrors?.durable ? await mirrors.outboxStatement(mirrorLog!) : undefined
    const flight: MirrorFlight | undefined =
      mirrors && (mirrors.ordered || outbox)
        ? { ordered: mirrors.ordered, commit: true, ...(outbox ? { outbox } : {}) }
        : undefined
    try {
      let command: string
      try {
        command = (await this.#run(node, control(node, 'commit'), 'transaction', flight)).command
      } catch (error) {
        if (this.#transactionWrote && failureKind(error) === 'connection') {
          scopes.current().scope?.markUncertain(writes.recovery(node, this.#sentPid))
          throw new WriteOutcomeUnknownError(
            `the connection to ${node.name} failed during COMMIT: the transaction may or may not have committed`,
            { cause: error, node: node.name },
          )
        }
        throw error
      } finally {
        this.#inTransaction = false
      }
      const scope = scopes.current().scope
      if (
        command === 'COMMIT' &&
        this.#transactionWrote &&
        node.role !== 'replica' &&
        !topology.mayAcknowledge(node)
      ) {
        await writes.confirmAcknowledged(node, scope)
      }
      // Every committed transaction on the primary is captured: one whose only writes
      // the classifier cannot see (a function) must still be read back.
      if (command === 'COMMIT' && node.role !== 'replica') {
        // Handed to the statement mirrors before any wait for replicas, which may fail after the commit.
        const applied = mirrors && this.#handOver(mirrors, flight, mirrorLog!)
        applied?.catch(() => {})
        const mirroring = writes.afterWrite(node, scope, this.#transactionWrote)
        if (mirroring) await mirroring
        if (applied) await applied
      }
      return command
    } finally {
      if (flight?.ticket !== undefined && !flight.handed) mirrors!.ended(flight.ticket)
    }
  }

  /**
   * Rolls back; nothing was written, so nothing is captured. With no transaction
   * open (a COMMIT that failed already ended it, or its connection was lost) this
   * does nothing, as PostgreSQL only warns: the caller must see the COMMIT's own
   * error, not one from the rollback that follows it.
   */
  async rollback(): Promise<void> {
    this.#mirrorLog = undefined
    if (!this.#inTransaction) return
    const node = this.#bound.node
    if (!node) {
      this.#inTransaction = false
      return
    }
    try {
      await this.#run(node, control(node, 'rollback'), 'transaction')
    } finally {
      this.#inTransaction = false
    }
  }

  /**
   * Cancels the statement running on this connection (`pg_cancel_backend`), sent
   * to the node the connection is bound to over its side connection: a control
   * statement through the router could land on another server. With `queryId`,
   * only that statement is cancelled: once it has finished, a later one is never
   * hit. No-op when nothing runs.
   */
  async cancel(queryId?: unknown): Promise<void> {
    const running = this.#running
    if (!running || (queryId !== undefined && running.queryId !== queryId)) return
    const node = this.#bound.node
    const pid = this.#bound.pid
    if (node && pid) await node.side.run('select pg_cancel_backend($1)', [pid])
  }

  /** Ends this connection's server session (`pg_terminate_backend`). */
  async terminate(): Promise<void> {
    const node = this.#bound.node
    const pid = this.#bound.pid
    // The read running here fails with the lost session; it must not be retried
    // elsewhere as if its node had crashed.
    this.#terminated = true
    if (node && pid) await node.side.run('select pg_terminate_backend($1)', [pid])
  }

  /** Returns the underlying connection to its pool. Safe to call twice. */
  release(): void {
    if (this.#released) return
    this.#released = true
    this.#bound.unbind()
  }

  /** The one answer to "primary or replica?" outside a transaction. */
  #wantsPrimary(statement: Statement, context: ExecutionContext): boolean {
    return (
      statement.intent !== 'read' || statement.forcePrimary === true || context.onPrimary || this.#onPrimary
    )
  }

  /** Why a statement {@link #wantsPrimary} wants goes there; asked before the connection is pinned. */
  #primaryReason(statement: Statement, context: ExecutionContext): RouteReason {
    if (statement.intent !== 'read') return 'write'
    return statement.forcePrimary === true || context.onPrimary ? 'on-primary' : 'pinned'
  }

  async #executeOnPrimary(
    statement: Statement,
    context: ExecutionContext,
    retryOn?: DbNode,
    reason: RouteReason = this.#primaryReason(statement, context),
    flight?: MirrorFlight,
  ): Promise<pg.QueryResult> {
    const { topology, primaries, monitor, writes } = this.#parts
    const scope = context.scope
    const token = scope?.token
    if (!retryOn && token && token.timeline > topology.timeline) {
      // The scope has seen a newer timeline than this process: a failover it has not
      // noticed yet. Writing to the primary it knows could write to an old one.
      await monitor.recheck()
    }
    const node = retryOn ?? topology.primary ?? (await primaries.primary())
    this.#onPrimary = true
    const write = statement.intent !== 'read'
    let result: pg.QueryResult
    try {
      result = await this.#run(node, statement, reason, flight)
    } catch (error) {
      const kind = error instanceof ConnectFailed ? 'connect' : failureKind(error)
      if (kind === 'read-only') {
        // 25006 on the node we took for the primary: it is a standby now. Nothing
        // ran, so once the topology shows the real primary, one retry is safe.
        await monitor.probeAll()
        const next = topology.primary
        if (!next || next === node) throw error
        this.#bound.unbind()
        result = await this.#run(next, statement, reason, flight)
        if (write) {
          if (!topology.mayAcknowledge(next)) await writes.confirmAcknowledged(next, scope)
          if (flight) this.#handOverWrite(flight, statement, result)
          const mirroring = writes.afterWrite(next, scope)
          if (mirroring) await mirroring
        }
        return result
      }
      if (kind === 'connect') {
        // Nothing was sent, so trying again is safe: on a new primary after a
        // failover, or this one once it is back, within writeWaitMillis.
        const cause = (error as Error).cause
        monitor.reportFailure(node, cause)
        if (this.#parts.writeWaitMillis > 0 && !retryOn) {
          const next = await primaries.primary(node).catch(() => undefined)
          if (next) return this.#executeOnPrimary(statement, context, next, reason, flight)
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
      if (kind === 'connection' && write) {
        scope?.markUncertain(writes.recovery(node, this.#sentPid))
        throw new WriteOutcomeUnknownError(
          `the connection to the primary ${node.name} failed while a write was in flight: it may or may not have ` +
            `committed, and it was not retried (${(error as Error).message})`,
          { cause: error, node: node.name },
        )
      }
      if (kind === 'statement' && write) {
        // The write failed on what the primary has committed (a unique violation
        // shows another writer's row). A read that checks again must see that state,
        // as Kysely's Migrator expects: capture it like a write, then rethrow.
        writes.afterWrite(node, scope, false)
      }
      throw error
    }
    if (write) {
      if (!topology.mayAcknowledge(node)) await writes.confirmAcknowledged(node, scope)
      if (flight) this.#handOverWrite(flight, statement, result)
      const mirroring = writes.afterWrite(node, scope)
      if (mirroring) await mirroring
    }
    // A forced read may call a function that writes: capture, cheaply, just in case.
    else if (statement.forcePrimary || context.onPrimary) writes.afterWrite(node, scope, false)
    return result
  }

  /**
   * A read, with its retries: on another replica after a connection-level failure,
   * then on the primary; once on the primary after a 25006, or when its proof of
   * freshness failed. The query and its accounting are inline rather than in
   * `#run`, to keep the common path to one async layer.
   */
  async #executeRead(statement: Statement, context: ExecutionContext): Promise<pg.QueryResult> {
    const { planner, topology, events, counters, monitor } = this.#parts
    const bound = this.#bound
    const scope = context.scope
    // Subscribed before the read began, or not traced at all (as TracingChannel does).
    const note = statementChannel.hasSubscribers ? this.#routeNote() : undefined
    let tried: Set<DbNode> | undefined
    let retrying: { from: DbNode; error: unknown } | undefined
    let next: DbNode | undefined
    for (;;) {
      const node =
        next ??
        planner.now(statement, scope, bound.node, tried, note) ??
        (await planner.plan(statement, scope, bound.node, tried, note))
      next = undefined
      if (retrying) {
        events.emit('read-retried', {
          from: retrying.from.name,
          to: node.name,
          error: redact(String((retrying.error as Error).message)),
          statement: describeStatement(statement.sql),
        })
        retrying = undefined
      }
      // What the read must see, as of now: a write the scope makes meanwhile need not be.
      const token = node.role === 'replica' ? scope?.token : undefined
      node.inFlight++
      this.#running = statement
      const started = performance.now()
      let failure: unknown
      try {
        // Only a replica's reads can be cut off and retried: the primary is the last resort.
        if (node !== topology.primary) node.reads.add(bound)
        const client = bound.on(node) ?? (await this.#bind(node))
        if (token === undefined || this.#proven(client, token)) {
          const result = await (note && statementChannel.hasSubscribers
            ? traceStatement(
                statementContext(node, client, statement, note.reason),
                () => client.query(statement.sql, statement.parameters as unknown[]),
                countRows,
              )
            : client.query(statement.sql, statement.parameters as unknown[]))
          node.served++
          return result
        }
        // The proof comes from the server that runs the read, in the read's own flight:
        // a position known for the node could be another server's behind a balancer.
        const known = node.hasReplayed(token)
        node.freshnessChecks++
        const { replayLsn, server, result } = await (note && statementChannel.hasSubscribers
          ? traceStatement(
              statementContext(node, client, statement, note.reason),
              () => replayCheckedQuery(client, statement.sql, statement.parameters),
              (trace, checked) => {
                trace.rowCount = checked.result.rowCount
                trace.stale = checked.replayLsn === undefined || checked.replayLsn < token.lsn
              },
            )
          : replayCheckedQuery(client, statement.sql, statement.parameters))
        if (replayLsn !== undefined) {
          this.#parts.proofs.record(client, server, replayLsn)
          node.advance(replayLsn)
        }
        if (replayLsn !== undefined && replayLsn >= token.lsn) {
          if (!known) counters.replayWaitsSatisfied++
          node.served++
          return result
        }
        // The replica ran the read on a snapshot without the token's writes: its
        // result is dropped, and the read runs on the primary.
        node.freshnessMisses++
        next = await planner.afterMiss(statement, note)
      } catch (error) {
        failure = error
        if (isCheckRefused(error)) {
          // The server refused the check itself (not a standby PostgreSQL knows how to
          // report): nothing proves the read fresh there.
          node.freshnessMisses++
          next = await planner.afterMiss(statement, note)
          continue
        }
        const kind = error instanceof ConnectFailed ? 'connection' : failureKind(error)
        if (kind === 'connection') bound.unbind(error)
        const primary = topology.primary
        if (kind === 'read-only' && node !== primary) {
          // A replica refused a "read": it writes after all (a user function, say).
          // Nothing ran there, so run it once on the primary, and say so.
          counters.misclassifiedWrites++
          events.emit('misclassified-write', {
            node: node.name,
            statement: describeStatement(statement.sql),
            intent: statement.intent,
          })
          return this.#executeOnPrimary(
            { ...statement, intent: 'write' },
            context,
            undefined,
            'misclassified-write',
          )
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
        monitor.reportFailure(node, unwrapCause(error))
        counters.readRetries++
        retrying = { from: node, error: unwrapCause(error) }
      } finally {
        node.reads.delete(bound)
        this.#running = undefined
        finishStatement(events, node, statement, started, failure)
      }
    }
  }

  /**
   * A write outside a transaction with statement mirrors: checked (`volatile:
   * 'refuse'`), run, then handed to the mirrors once acknowledged. With a durable
   * mirror it runs as a transaction of its own, so that its outbox row commits with it.
   */
  async #executeMirrored(statement: Statement, context: ExecutionContext): Promise<pg.QueryResult> {
    const mirrors = this.#parts.mirrors!
    mirrors.admit(statement)
    if (mirrors.durable) {
      let result: pg.QueryResult
      try {
        result = await this.#beginWith(statement)
      } catch (error) {
        await this.rollback().catch(() => {})
        if ((error as { code?: unknown }).code !== '25001') throw error
        throw new CausewayError(
          'MIRROR_REFUSED',
          `the statement was not run: ${describeStatement(statement.sql)} cannot run inside a transaction block, ` +
            `and a durable mirror's outbox row must commit in the same transaction as the write. Run it on the ` +
            'primary and on each mirror yourself, outside Causeway.',
          { cause: error },
        )
      }
      await this.commit()
      return result
    }
    const flight: MirrorFlight = { ordered: mirrors.ordered }
    let result: pg.QueryResult
    try {
      result = await this.#executeOnPrimary(statement, context, undefined, undefined, flight)
    } catch (error) {
      // Committed and handed over, then a wait for replicas failed: the mirrors still replay it.
      flight.applied?.catch(() => {})
      throw error
    } finally {
      if (!flight.handed && flight.ticket !== undefined) mirrors.ended(flight.ticket)
    }
    if (flight.applied) await flight.applied
    return result
  }

  /**
   * A durable mirror's autocommit write: a transaction of its own, whose BEGIN goes
   * in the write's flight (one round trip); `commit()` then sends the outbox row
   * with the COMMIT (one more). The write is logged for the outbox once it ran.
   */
  async #beginWith(statement: Statement): Promise<pg.QueryResult> {
    this.#assertOpen()
    if (this.#inTransaction)
      throw new CausewayError('TRANSACTION_STATE', 'a transaction is already open on this connection')
    const node = await this.#parts.primaries.primary()
    this.#onPrimary = true
    await this.#bind(node)
    this.#inTransaction = true
    this.#transactionWrote = true
    this.#mirrorLog = []
    const result = await this.#run(node, statement, 'write', { ordered: false, begin: true })
    this.#mirrorLog.push({ sql: statement.sql, parameters: statement.parameters, rows: rowsOf(result) })
    return result
  }

  /** An acknowledged autocommit write of {@link #executeMirrored}, handed to the statement mirrors. */
  #handOverWrite(flight: MirrorFlight, statement: Statement, result: pg.QueryResult): void {
    const mirrors = this.#parts.mirrors!
    const mirrored: MirroredStatement = {
      sql: statement.sql,
      parameters: statement.parameters,
      rows: rowsOf(result),
    }
    flight.applied = this.#handOver(mirrors, flight, [flight.alone ? { ...mirrored, alone: true } : mirrored])
    flight.applied?.catch(() => {})
  }

  /** Gives committed writes to the statement mirrors, with the flight's commit position when ordered. */
  #handOver(
    mirrors: NonNullable<ConnectionParts['mirrors']>,
    flight: MirrorFlight | undefined,
    statements: readonly MirroredStatement[],
  ): Promise<void> | undefined {
    if (!flight) return mirrors.committed(statements)
    flight.handed = true
    return mirrors.committed(statements, flight.ticket, flight.position)
  }

  /** A write in a transaction with statement mirrors: logged once it succeeded, for the COMMIT. */
  async #runLogged(statement: Statement): Promise<pg.QueryResult> {
    this.#parts.mirrors!.admit(statement)
    const result = await this.#run(this.#bound.node!, statement, 'transaction')
    this.#mirrorLog?.push({ sql: statement.sql, parameters: statement.parameters, rows: rowsOf(result) })
    return result
  }

  /**
   * Runs `statement` on `node`. With an ordered `flight` (in-memory statement
   * mirrors), the write, or the COMMIT, takes its commit-order ticket and reads its commit position
   * in the same round trip, into `flight.position`; a COMMIT's flight also carries
   * its outbox row, and a durable autocommit write its BEGIN.
   */
  async #run(
    node: DbNode,
    statement: Statement,
    reason: RouteReason,
    flight?: MirrorFlight,
  ): Promise<pg.QueryResult> {
    const client = this.#bound.on(node) ?? (await this.#bind(node))
    this.#sentPid = this.#bound.pid
    node.inFlight++
    this.#running = statement
    const started = performance.now()
    let failure: unknown
    // A flight of its own only with statement mirrors; every other statement is a
    // plain query, with no closure made for it unless it is traced.
    const flown =
      flight && (flight.ordered || flight.outbox || flight.begin)
        ? () => this.#flightQuery(node, client, statement, flight)
        : undefined
    try {
      const result = await (statementChannel.hasSubscribers
        ? traceStatement(
            statementContext(node, client, statement, reason),
            flown ?? (() => client.query(statement.sql, statement.parameters as unknown[])),
            countRows,
          )
        : flown
          ? flown()
          : client.query(statement.sql, statement.parameters as unknown[]))
      node.served++
      return result
    } catch (error) {
      failure = error
      if (failureKind(error) === 'connection') this.#bound.unbind(error)
      throw error
    } finally {
      this.#running = undefined
      finishStatement(this.#parts.events, node, statement, started, failure)
    }
  }

  /**
   * A statement of a mirrored write in its own flight (see {@link #run}): the
   * commit-order ticket is taken here, as it is sent (a wait for a pooled
   * connection holds back no other write's replay), and what the server says of
   * the position function is recorded on the node. A server that refuses it
   * commits without one (and in acknowledgement order), rather than failing every
   * transaction.
   */
  async #flightQuery(
    node: DbNode,
    client: pg.PoolClient,
    statement: Statement,
    flight: MirrorFlight,
  ): Promise<pg.QueryResult> {
    if (flight.ordered && flight.ticket === undefined) flight.ticket = this.#parts.mirrors!.start()
    const position = flight.ordered && !node.refusesInsertPosition()
    let positioned: Positioned<pg.QueryResult>
    try {
      positioned = await (flight.begin
        ? beganWrite(client, statement.sql, statement.parameters)
        : flight.commit
          ? flightCommit(client, {
              ...(flight.outbox ? { before: flight.outbox } : {}),
              position: !position ? 'none' : node.insertPositionGranted ? 'read' : 'guarded',
            })
          : position
            ? positionedWrite(client, statement.sql, statement.parameters)
            : {
                result: await client.query(statement.sql, statement.parameters as unknown[]),
                position: undefined,
              })
    } catch (error) {
      if (error instanceof CausewayError && error.code === 'FUNCTION_REFUSED')
        node.insertPositionRefused(error.cause)
      throw error
    }
    flight.position = positioned.position
    if (positioned.position !== undefined) node.insertPositionGranted = true
    if (positioned.alone) flight.alone = true
    if (positioned.refused) node.insertPositionRefused(positioned.refused)
    return positioned.result
  }

  /**
   * For a stream or a read-only transaction on a replica, which cannot carry the
   * check in their own flight: proves on the bound client, with one statement
   * first, that its server has replayed `token`; otherwise moves to the primary.
   */
  async #proveFirst(
    node: DbNode,
    client: pg.PoolClient,
    token: ConsistencyToken | undefined,
    statement: Statement,
    note?: RouteNote,
  ): Promise<[DbNode, pg.PoolClient]> {
    if (token === undefined || this.#proven(client, token)) return [node, client]
    node.freshnessChecks++
    const position = await this.#parts.proofs.check(client)
    if (position !== undefined) node.advance(position)
    if (position !== undefined && position >= token.lsn) return [node, client]
    node.freshnessMisses++
    const primary = await this.#parts.planner.afterMiss(statement, note)
    return [primary, await this.#bind(primary)]
  }

  #routeNote(): RouteNote {
    this.#note ??= { reason: 'replica' }
    return this.#note
  }

  /** Whether an earlier check proved `token` on `client`'s server: then the read needs no check. */
  #proven(client: pg.PoolClient, token: ConsistencyToken): boolean {
    if (!this.#parts.reuseProofs) return false
    const position = this.#parts.proofs.on(client)
    return position !== undefined && position >= token.lsn
  }

  /**
   * A client of `node`, taken from its pool unless the one held is `node`'s. Not
   * async: it runs before most statements, and an async layer that returns a
   * promise costs extra turns of the microtask queue.
   */
  #bind(node: DbNode): Promise<pg.PoolClient> {
    const held = this.#bound.on(node)
    if (held) return Promise.resolve(held)
    if (this.#inTransaction) {
      return Promise.reject(
        new CausewayError('TRANSACTION_STATE', 'the connection of this transaction was lost; roll it back'),
      )
    }
    // A new server session: a killSession() of the previous one no longer applies.
    this.#terminated = false
    return this.#bound.bind(node)
  }

  #requireTransaction(what: string): DbNode {
    const node = this.#bound.node
    if (!this.#inTransaction || !node) {
      throw new CausewayError(
        'TRANSACTION_STATE',
        `cannot ${what}: no transaction is open on this connection`,
      )
    }
    return node
  }

  #closedError(): CausewayError {
    return new CausewayError(
      'CLOSED',
      this.#released ? 'this connection was released' : 'the cluster is closed',
    )
  }

  #assertOpen(): void {
    if (this.#released) throw new CausewayError('CLOSED', 'this connection was released')
    if (this.#parts.checkouts.closed) throw new CausewayError('CLOSED', 'the cluster is closed')
  }
}

/**
 * A transaction control statement, tagged for the `statement` event by where it
 * runs: a write on the primary, a read on a replica.
 */
function control(node: DbNode, sql: string): Statement {
  return { sql, parameters: [], intent: node.role === 'replica' ? 'read' : 'write' }
}

/**
 * A write on its way to the statement mirrors: its place in commit order (the
 * ticket taken before it was sent, when some mirror replays from memory; the
 * position it read before committing), whether it was handed over, and a sync
 * mirror's wait for it.
 */
interface MirrorFlight {
  /** Whether it takes a place in commit order (some mirror replays from memory). */
  readonly ordered: boolean
  /** Its place, taken just before it is sent. */
  ticket?: FlightTicket
  /** A COMMIT, rather than an autocommit write. */
  readonly commit?: boolean
  /** A COMMIT's outbox row (durable mirrors), sent in the COMMIT's own flight. */
  readonly outbox?: Statement
  /** A durable mirror's autocommit write: sent with the BEGIN of its own transaction, in one flight. */
  readonly begin?: boolean
  position?: Lsn
  /** It ran outside any transaction (it cannot run in one): mirrors run it alone too. */
  alone?: true
  handed?: boolean
  applied?: Promise<void> | undefined
}

/** The rows a statement changed, for a mirror to compare with its own; null when pg gives none (several statements). */
function rowsOf(result: pg.QueryResult): number | null {
  return typeof result.rowCount === 'number' ? result.rowCount : null
}

/** Publishes the end of a hand-traced statement: `rowCount` undefined when it failed. */
function finishTrace(trace: StatementTraceContext, rowCount: number | undefined): void {
  if (rowCount !== undefined) trace.rowCount = rowCount
  statementChannel.asyncStart.publish(trace)
  statementChannel.asyncEnd.publish(trace)
}

/** The replay check itself was refused (the read's outcome is unknown, and it is not used). */
function isCheckRefused(error: unknown): boolean {
  return error instanceof CausewayError && error.code === 'REPLAY_CHECK_FAILED'
}

function unwrapCause(error: unknown): unknown {
  return error instanceof ConnectFailed ? error.cause : error
}
