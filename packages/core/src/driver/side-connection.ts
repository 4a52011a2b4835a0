import type pg from 'pg'
import { failureKind } from '../errors/failure-kind.js'
import type { PgDriver } from './pg-driver.js'

/**
 * One connection to a server outside its pool, for Causeway's own statements:
 * health probes, replay checks, token captures, promotions and cancels. They must
 * not queue behind the app's queries, nor take the app's connections.
 *
 * Opened on first use, and dropped after any connection-level failure, so that the
 * next use reconnects (a restarted server is seen as one). While work is in flight
 * the socket keeps the process alive; idle, it does not (`close()` ends it anyway).
 */
export class SideConnection {
  readonly #pg: PgDriver
  readonly #config: pg.ClientConfig
  readonly #onConnectionLost: (error: Error) => void
  #client: pg.Client | undefined
  #connecting: Promise<pg.Client> | undefined
  #busy = 0
  #closed = false
  /** Statements sent on this connection, for the count of Causeway's own statements per node. */
  statements = 0

  /**
   * `timeoutMillis` bounds connecting and every statement. `onConnectionLost` hears
   * of a connection that broke while idle (a server restart, say).
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

  /** Whether other work is in flight: a statement sent now queues behind it. */
  get busy(): boolean {
    return this.#busy > 0
  }

  /**
   * Runs one statement and returns its rows, bounded by the connection's timeout
   * unless `timeoutMillis` says otherwise (a promotion waits longer).
   */
  run<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    timeoutMillis?: number,
  ): Promise<R[]> {
    return this.use(async (client) => {
      const config = {
        text: sql,
        values: params,
        ...(timeoutMillis === undefined ? {} : { query_timeout: timeoutMillis }),
      }
      return (await client.query<R>(config)).rows
    })
  }

  /**
   * Runs `work` on the connection, counted as one statement (work that sends more
   * adds them to {@link statements} itself). A connection-level failure drops the connection;
   * a statement that merely failed (a permission error) leaves it be.
   */
  async use<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.#connect()
    this.statements++
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

  /** Ends the connection; later uses fail. */
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
    if (this.#closed) return Promise.reject(new Error('the side connection is closed'))
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
        throw new Error('the side connection is closed')
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
    if (this.#client === client) this.#client = undefined
    client.end().catch(() => {})
  }
}

/** pg's Client can ref and unref its socket; its types do not say so. */
function refs(client: pg.Client): { ref(): void; unref(): void } {
  return client as unknown as { ref(): void; unref(): void }
}
