import type pg from 'pg'
import { parseLsn, type WalLayout } from '../consistency/lsn.js'
import type { PgDriver } from '../driver/pg-driver.js'
import type { ProbeResult } from '../topology/db-node.js'
import { failureKind } from './failure-kind.js'

/**
 * One round trip that tells everything routing needs about a server, every
 * interval. A standby's timeline is the one it receives
 * (`pg_stat_wal_receiver.received_tli`), or the last restartpoint's when the
 * receiver is not running; a primary's is the timeline of the WAL file it writes.
 */
const PROBE_SQL = `select
  pg_is_in_recovery() as recovery,
  pg_postmaster_start_time()::text as lifetime,
  case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text else pg_current_wal_lsn()::text end as lsn,
  case when pg_is_in_recovery()
    then coalesce((select received_tli from pg_stat_wal_receiver), (select timeline_id from pg_control_checkpoint()))
    else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as timeline,
  (select sender_host || ':' || sender_port from pg_stat_wal_receiver) as upstream,
  pg_is_in_recovery() and pg_get_wal_replay_pause_state() <> 'not paused' as paused`

/**
 * What cannot change while a connection lasts (it would take a new server, and so
 * a new connection): read once per connection. `pg_control_system()` reads the
 * control file, and `pg_settings` is a scan of every setting.
 */
const IDENTITY_SQL = `select
  (select system_identifier::text from pg_control_system()) as system_id,
  current_setting('wal_block_size')::int as page_bytes,
  (select setting::int from pg_settings where name = 'wal_segment_size') as segment_bytes`

interface ProbeRow {
  recovery: boolean
  lifetime: string
  lsn: string | null
  timeline: number | null
  upstream: string | null
  paused: boolean | null
}

interface Identity {
  readonly systemId: string | undefined
  readonly walLayout: WalLayout
}

/**
 * Probes one node on a connection of its own, outside the node's pool: probes must
 * not queue behind the app's queries, nor take the app's connections. The
 * connection is opened on demand and dropped after any failure, so that a
 * restarted server is seen as one.
 */
export class NodeProber {
  readonly #pg: PgDriver
  readonly #config: pg.ClientConfig
  #client: pg.Client | undefined
  #busy = 0
  readonly #onConnectionLost: (error: Error) => void
  #identity: Identity | undefined
  #closed = false
  #connecting: Promise<pg.Client> | undefined

  /**
   * `onConnectionLost` hears of a side connection that broke while idle (a server
   * restart, say): the node's cached position may belong to its old lifetime.
   */
  constructor(
    driver: PgDriver,
    config: pg.ClientConfig,
    timeoutMillis: number,
    onConnectionLost: (error: Error) => void = () => {},
  ) {
    this.#pg = driver
    this.#onConnectionLost = onConnectionLost
    this.#config = { ...config, connectionTimeoutMillis: timeoutMillis, query_timeout: timeoutMillis }
  }

  /** Runs the probe; throws on any failure (the caller feeds the circuit breaker). */
  probe(): Promise<ProbeResult> {
    // A probe queued behind other work on this connection (a promotion, a replay
    // check) that times out says little about the server: it is marked as such.
    const queued = this.#busy > 0
    return this.#use<ProbeResult>(async (client) => {
      const identity = this.#identity ?? (await this.#readIdentity(client))
      const { rows } = await client.query<ProbeRow>(PROBE_SQL)
      const row = rows[0]!
      return {
        role: row.recovery ? 'replica' : 'primary',
        systemId: identity.systemId,
        lifetime: row.lifetime,
        lsn: row.lsn ? parseLsn(row.lsn) : undefined,
        timeline: row.timeline ?? undefined,
        upstream: row.upstream ?? undefined,
        replayPaused: row.paused === true,
        walLayout: identity.walLayout,
      }
    }).catch((error: unknown) => {
      if (queued && error instanceof Error) Object.defineProperty(error, 'probeQueued', { value: true })
      throw error
    })
  }

  async #readIdentity(client: pg.Client): Promise<Identity> {
    const { rows } = await client.query<{
      system_id: string | null
      page_bytes: number
      segment_bytes: number
    }>(IDENTITY_SQL)
    const row = rows[0]!
    const identity = {
      systemId: row.system_id ?? undefined,
      walLayout: { pageBytes: row.page_bytes, segmentBytes: row.segment_bytes },
    }
    if (this.#client === client) this.#identity = identity
    return identity
  }

  /** Reads a replica's replay position now: the fast re-check of a read that waits for its token. */
  replayLsn(): Promise<bigint | undefined> {
    return this.#use(async (client) => {
      const { rows } = await client.query<{ lsn: string | null }>(
        'select pg_last_wal_replay_lsn()::text as lsn',
      )
      const text = rows[0]?.lsn
      return text ? parseLsn(text) : undefined
    })
  }

  /**
   * Runs an administrative statement (promotion, re-pointing, a cancel) on the side
   * connection, bounded by the probe timeout unless `timeoutMillis` says otherwise.
   */
  run<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    timeoutMillis?: number,
  ): Promise<R[]> {
    return this.#use(async (client) => {
      const config = {
        text: sql,
        values: params,
        ...(timeoutMillis === undefined ? {} : { query_timeout: timeoutMillis }),
      }
      return (await client.query<R>(config)).rows
    })
  }

  /**
   * Runs `work` on the side connection. While any work is in flight the socket
   * keeps the process alive; idle, it does not (close() ends it anyway). A
   * connection-level failure drops the connection, so that the next use
   * reconnects; a statement that merely failed (a permission error) leaves it be.
   */
  async #use<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.#connect()
    if (this.#busy++ === 0) refs(client).ref()
    try {
      return await work(client)
    } catch (error) {
      if (failureKind(error) !== 'statement') this.#drop(client)
      throw error
    } finally {
      if (--this.#busy === 0) refs(client).unref()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const client = this.#client
    this.#client = undefined
    this.#connecting = undefined
    if (!client) return
    // Awaited by close(): the socket must hold the process until the goodbye is done.
    refs(client).ref()
    await client.end().catch(() => {})
  }

  #connect(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new Error('the prober is closed'))
    if (this.#client) return Promise.resolve(this.#client)
    this.#connecting ??= (async () => {
      const client = new this.#pg.Client(this.#config)
      client.on('error', (error) => {
        if (this.#client !== client) return
        this.#drop(client)
        this.#onConnectionLost(error)
      })
      try {
        await client.connect()
      } catch (error) {
        this.#connecting = undefined
        client.end().catch(() => {})
        throw error
      }
      if (this.#closed) {
        // close() ran while this connection was being opened: do not leave it behind.
        await client.end().catch(() => {})
        throw new Error('the prober is closed')
      }
      refs(client).unref()
      this.#client = client
      this.#connecting = undefined
      return client
    })()
    return this.#connecting
  }

  /** Forgets `client` if it is still the current connection, and ends it. */
  #drop(client: pg.Client): void {
    if (this.#client === client) {
      this.#client = undefined
      this.#identity = undefined
    }
    client.end().catch(() => {})
  }
}

/** pg's Client can ref and unref its socket; its types do not say so. */
function refs(client: pg.Client): { ref(): void; unref(): void } {
  return client as unknown as { ref(): void; unref(): void }
}
