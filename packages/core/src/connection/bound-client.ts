import type pg from 'pg'
import { CausewayError } from '../errors/causeway-error.js'
import type { AbandonableRead, DbNode } from '../topology/db-node.js'
import type { CheckoutWatch } from './checkout-watch.js'

/** A connection error that happened before anything was sent: trying again is safe. */
export class ConnectFailed extends Error {}

/**
 * The pooled `pg` client a routed connection holds, and the node it came from. It
 * is taken on the first statement and kept while statements go to the same node;
 * a client that failed at the connection level is destroyed, not reused.
 */
export class BoundClient implements AbandonableRead {
  readonly #checkouts: CheckoutWatch
  #node: DbNode | undefined
  #client: pg.PoolClient | undefined
  /** Cancels a pool checkout that is waiting, when its node is abandoned. */
  #cancelCheckout: ((error: Error) => void) | undefined

  constructor(checkouts: CheckoutWatch) {
    this.#checkouts = checkouts
  }

  /** The node the client came from, if one is held. */
  get node(): DbNode | undefined {
    return this.#node
  }

  /** The server process of the client held, from its BackendKeyData (not in pg's types). */
  get pid(): number | undefined {
    return (this.#client as unknown as { processID?: number } | undefined)?.processID
  }

  /** The client held, if it is `node`'s: no await on the common path. */
  on(node: DbNode): pg.PoolClient | undefined {
    return this.#node === node ? this.#client : undefined
  }

  /**
   * A client of `node`: the one held, or a new one from its pool (the one held is
   * given back first). Throws {@link ConnectFailed} when none can be had.
   */
  async bind(node: DbNode): Promise<pg.PoolClient> {
    if (this.#node === node && this.#client) return this.#client
    this.unbind()
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

  /** Gives the client back to its pool; one that failed with `error` at the connection level is destroyed. */
  unbind(error?: unknown): void {
    const client = this.#client
    this.#client = undefined
    this.#node = undefined
    client?.release(error instanceof Error ? error : undefined)
  }

  /**
   * Cuts off the read running on this client: its node stopped answering. The
   * socket is destroyed with a connection-level error, so the read is retried on
   * another node (reads are idempotent) and the client is not reused.
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
      unwatch = this.#checkouts.watch(fail)
    })
  }
}
