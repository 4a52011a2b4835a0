import type pg from 'pg'
import type { ResolvedConfig } from '../config/config-schema.js'
import type { NodeConfig } from '../config/node-config.js'
import { SideConnection } from '../driver/side-connection.js'
import { DbNode } from '../topology/db-node.js'
import { registerSecret } from '../util/redact.js'
import { REMOTE_APPLY_OPTION, serverSyncClient } from './server-sync-client.js'

/** Called when a pooled connection reports `in_hot_standby` (PostgreSQL 14+). */
export type HotStandbyListener = (node: DbNode, inHotStandby: boolean) => void

/** Builds a node from its config: its pool, and its side connections for probes and token captures. */
export function createNode(
  config: NodeConfig,
  resolved: ResolvedConfig,
  onHotStandby: HotStandbyListener,
  onIdleError: (node: DbNode, error: Error) => void,
): DbNode {
  const options: Record<string, unknown> =
    typeof config === 'string' ? { connectionString: config } : { ...config }
  const name = (options.name as string | undefined) ?? addressOf(config) // a node given no name is called by its host:port
  const weight = (options.weight as number | undefined) ?? 1
  delete options.name
  delete options.weight
  registerSecret(typeof options.password === 'string' ? options.password : undefined)
  if (typeof options.connectionString === 'string') registerSecret(passwordOf(options.connectionString))

  // Side connections (probes, captures, promotions) commit nothing that needs mirroring.
  const connection = { ...options } as pg.ClientConfig
  const serverSync = resolved.sync?.method === 'server'
  if (serverSync) {
    // Server-side mirroring: COMMIT returns once synchronous_standby_names' standbys
    // have applied it. Set on every node's pooled sessions, since any node may be promoted.
    const own = typeof options.options === 'string' ? `${options.options} ` : ''
    options.options = `${own}${REMOTE_APPLY_OPTION}`
  }
  const pooled = options as pg.ClientConfig
  // The connect timeout bounds opening a connection (a dead host), set on the
  // client: as a pool option, pg-pool would also arm and clear a timer on every
  // checkout, a cost on every statement.
  const connectTimeout =
    (connection.connectionTimeoutMillis as number | undefined) ?? resolved.pool.connectionTimeoutMillis
  const { connectionTimeoutMillis: _, ...poolOptions } = pooled
  // Checked before the node's first pooled connection: a pooler may refuse or drop the option.
  const BaseClient = serverSync
    ? serverSyncClient(resolved.pg.Client, { ...pooled, connectionTimeoutMillis: connectTimeout }, name)
    : resolved.pg.Client
  class TimedClient extends BaseClient {
    constructor(config: pg.ClientConfig = {}) {
      super({ ...config, connectionTimeoutMillis: connectTimeout })
    }
  }
  // With a query_timeout, pg arms a (ref'd) timer per query and clears it from the
  // query's callback. A cursor (pg-cursor, for streams) is never called back, so
  // each stream left a timer that held the process for up to query_timeout after
  // db.destroy(), unseen by process._getActiveHandles(). Clear it when the cursor's statement is over: 'end' once it is done or closed
  // early, 'error' when it failed. Only then: the override costs every statement.
  class CursorTimedClient extends TimedClient {
    override query(...args: unknown[]): never {
      const result = (super.query as (...a: unknown[]) => never)(...args)
      const cursor = args[0] as Partial<CursorEvents> | null
      if (
        typeof cursor?.callback === 'function' &&
        typeof cursor.read === 'function' &&
        typeof cursor.once === 'function'
      ) {
        const clear = (cursor as CursorEvents).callback
        cursor.once('end', () => clear())
        cursor.once('error', () => clear())
      }
      return result
    }
  }

  // pg takes query_timeout from the client's options, else from pg.defaults.
  const queryTimeout =
    (connection as { query_timeout?: unknown }).query_timeout ??
    (resolved.pg as { defaults?: { query_timeout?: unknown } }).defaults?.query_timeout
  const pool = new resolved.pg.Pool({
    max: resolved.pool.max,
    idleTimeoutMillis: resolved.pool.idleTimeoutMillis,
    ...(resolved.pool.maxLifetimeSeconds === undefined
      ? {}
      : { maxLifetimeSeconds: resolved.pool.maxLifetimeSeconds }),
    // Idle pooled connections must not keep the process alive.
    allowExitOnIdle: true,
    Client: queryTimeout ? CursorTimedClient : TimedClient,
    ...poolOptions,
  })
  // The side connections are built before the node, which owns them; a probe
  // connection lost while idle reports through `lost` once the node exists.
  let lost = (_error: Error) => {}
  const side = new SideConnection(resolved.pg, connection, resolved.health.timeoutMillis, (error) =>
    lost(error),
  )
  // Token captures get a side connection of their own (opened on first use, so only
  // on a primary): they must not queue behind probes and replay checks.
  const captures = new SideConnection(resolved.pg, connection, resolved.health.timeoutMillis)
  const node = new DbNode({
    name,
    weight,
    pool,
    address: addressOf(config),
    endpoint: endpointOf(connection),
    breaker: resolved.health,
    side,
    captures,
  })
  lost = (error) => onIdleError(node, error)
  pool.on('error', (error) => onIdleError(node, error))
  pool.on('connect', (client) => {
    // pg-pool listens for errors only while a client is idle in the pool. One that
    // breaks while checked out (a crash between two statements of a connection)
    // would otherwise crash the process; its next statement fails instead, as a
    // connection error, and is retried or reported.
    client.on('error', (error) => onIdleError(node, error))
    // PostgreSQL 14+ reports in_hot_standby at connect and again when it changes
    // (a promotion): a role change seen on the app's own connections, for free.
    const protocol = (client as unknown as { connection?: NodeJS.EventEmitter }).connection
    protocol?.on('parameterStatus', (message: { parameterName: string; parameterValue: string }) => {
      if (message.parameterName === 'in_hot_standby') onHotStandby(node, message.parameterValue === 'on')
    })
  })
  return node
}

/** What a submitted pg-cursor has once pg wrapped its callback in a query_timeout (not in pg's types). */
interface CursorEvents {
  callback: () => void
  read: unknown
  once(event: 'end' | 'error', listener: () => void): unknown
}

/** Where other servers reach the node: its configured host and port. */
function endpointOf(connection: pg.ClientConfig): { host: string; port: number } {
  const url =
    typeof connection.connectionString === 'string' ? new URL(connection.connectionString) : undefined
  return {
    host: String(connection.host ?? (url?.hostname || 'localhost')),
    port: Number(connection.port ?? (url?.port || 5432)),
  }
}

function addressOf(config: NodeConfig): string {
  if (typeof config === 'string') return urlAddress(config)
  if (typeof config.connectionString === 'string') return urlAddress(config.connectionString)
  return `${config.host ?? 'localhost'}:${config.port ?? 5432}`
}

function urlAddress(text: string): string {
  const url = new URL(text)
  return `${url.hostname || 'localhost'}:${url.port || 5432}`
}

function passwordOf(text: string): string | undefined {
  try {
    return decodeURIComponent(new URL(text).password) || undefined
  } catch {
    return undefined
  }
}
