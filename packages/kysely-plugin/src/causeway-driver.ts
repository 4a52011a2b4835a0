import type { Cluster, CursorConstructor } from '@causeway/core'
import {
  AbortedTransactionError,
  createQueryId,
  type DatabaseConnection,
  type Driver,
  IdentifierNode,
  type QueryCompiler,
  RawNode,
  type TransactionSettings,
} from 'kysely'
import { CausewayConnection } from './causeway-connection.js'

/**
 * The Kysely driver of {@link CausewayDialect}. Connections are lazy: acquiring one
 * takes nothing from a pool; its first statement decides the node.
 */
export class CausewayDriver implements Driver {
  readonly #cluster: Cluster
  readonly #ownsCluster: boolean
  readonly #cursor: CursorConstructor | undefined
  #destroyed = false

  constructor(cluster: Cluster, ownsCluster: boolean, cursor: CursorConstructor | undefined) {
    this.#cluster = cluster
    this.#ownsCluster = ownsCluster
    this.#cursor = cursor
  }

  async init(): Promise<void> {
    // Loads the SQL parser and probes every node once (each probe is bounded by
    // health.timeoutMillis), so the first reads already know the replicas.
    await this.#cluster.ready()
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new CausewayConnection(this.#cluster.connect(), this.#cursor)
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let sql = 'begin'
    if (settings.isolationLevel || settings.accessMode) {
      sql = 'start transaction'
      if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`
      if (settings.accessMode) sql += ` ${settings.accessMode}`
    }
    await routed(connection).begin({
      accessMode: settings.accessMode,
      isolationLevel: settings.isolationLevel,
      sql,
    })
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    // PostgreSQL completes a COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
    if ((await routed(connection).commit()) === 'ROLLBACK') throw new AbortedTransactionError()
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await routed(connection).rollback()
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
    routed(connection).release()
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    if (this.#ownsCluster) await this.#cluster.close()
  }
}

function routed(connection: DatabaseConnection) {
  return (connection as CausewayConnection).routed
}

function savepointCommand(command: string, name: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)])
}
