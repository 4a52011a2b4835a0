import type { ClusterNode } from './cluster-node.js'
import type { PgServer, StopMode } from './pg-server.js'
import * as replication from './replication-sql.js'
import { conninfo } from './server-config.js'
import { SqlControlledNode } from './sql-controlled-node.js'

/** A node of an embedded cluster: a {@link PgServer} plus its replication controls. */
export class EmbeddedNode extends SqlControlledNode implements ClusterNode {
  readonly server: PgServer
  readonly #password: string
  readonly #waitMillis: number

  constructor(server: PgServer, password: string, waitMillis: number) {
    super()
    this.server = server
    this.#password = password
    this.#waitMillis = waitMillis
  }

  get name(): string {
    return this.server.name
  }

  get port(): number {
    return this.server.port
  }

  get url(): string {
    return this.server.url
  }

  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]> {
    return this.server.query<R>(sql, params)
  }

  async repoint(upstream: ClusterNode): Promise<void> {
    await replication.repoint(this, upstream, this.conninfoFor(upstream))
    await replication.waitStreaming(this, upstream.port, this.#waitMillis, () => this.server.logTail())
  }

  /** The `primary_conninfo` with which this node streams from `upstream`. */
  conninfoFor(upstream: ClusterNode): string {
    return conninfo(upstream.port, this.#password, this.name)
  }

  stop(options: { mode?: StopMode } = {}): Promise<void> {
    return this.server.stop(options.mode ?? 'fast')
  }

  start(): Promise<void> {
    return this.server.start()
  }

  kill(): Promise<void> {
    return this.server.kill()
  }

  freeze(): Promise<void> {
    return this.server.freeze()
  }

  async thaw(): Promise<void> {
    this.server.thaw()
  }
}
