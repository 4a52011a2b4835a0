import { CausewayError, type Cluster, type CursorConstructor } from '@causeway/core'
import {
  createQueryId,
  type DatabaseConnection,
  type Driver,
  IdentifierNode,
  type QueryCompiler,
  RawNode,
  type TransactionSettings,
} from 'kysely'
import { AbortedTransactionError } from './aborted-transaction-error.js'
import { CausewayConnection, RELEASE } from './causeway-connection.js'
import type { ClusterSource } from './cluster-source.js'
import { beginQuery, commitQuery, rollbackQuery } from './transaction-control.js'

/**
 * The Kysely driver of {@link CausewayDialect}, made by its `createDriver()`. It takes
 * its cluster from the dialect at `init()` and gives it back at `destroy()`; the
 * dialect closes a cluster it owns when the last driver gives it back. Connections
 * are lazy: acquiring one takes nothing from a pool; its first statement decides
 * the node.
 */
export class CausewayDriver implements Driver {
  readonly #source: ClusterSource
  readonly #cursor: CursorConstructor | undefined
  #cluster: Cluster | undefined

  constructor(source: ClusterSource, cursor: CursorConstructor | undefined) {
    this.#source = source
    this.#cursor = cursor
  }

  async init(): Promise<void> {
    if (this.#cluster) return
    const cluster = this.#source.acquire()
    try {
      // Loads the SQL parser and probes every node once (each probe is bounded by
      // health.timeoutMillis), so the first reads already know the replicas.
      await cluster.ready()
    } catch (error) {
      // Kysely calls destroy() only after a successful init: give the cluster back now.
      await this.#source.release(cluster)
      throw error
    }
    this.#cluster = cluster
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#cluster) throw new CausewayError('CLOSED', 'this Kysely instance was destroyed')
    return new CausewayConnection(this.#cluster.connect(), this.#cursor)
  }

  // Transaction control goes through executeQuery, as with PostgresDriver, so that
  // Kysely's `log` sees it; the connection hands it to the router.
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(beginQuery(settings))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { rows } = await connection.executeQuery<{ command?: string }>(commitQuery())
    // PostgreSQL completes a COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError()
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(rollbackQuery())
  }

  async savepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('savepoint', name), createQueryId()))
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    await connection.executeQuery(compile(savepointCommand('rollback to', name), createQueryId()))
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    await connection.executeQuery(compile(savepointCommand('release', name), createQueryId()))
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    ;(connection as CausewayConnection)[RELEASE]()
  }

  async destroy(): Promise<void> {
    const cluster = this.#cluster
    this.#cluster = undefined
    if (cluster) await this.#source.release(cluster)
  }
}

function savepointCommand(command: string, name: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)])
}
