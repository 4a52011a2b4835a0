import { hostname } from 'node:os'
import type { FailoverLock } from '@causeway/core'
import { Etcd3, type Lease } from 'etcd3'

/** Where the lock lives in etcd, and how long it outlives a holder that stops renewing it. */
export interface EtcdFailoverLockOptions {
  /** etcd client URLs, e.g. `'http://10.0.0.5:2379'` or several members of one etcd cluster. */
  readonly hosts: string | readonly string[]
  /**
   * The key every app process of one database cluster contends for. Use one key
   * per database cluster: processes of different clusters must not exclude each
   * other. Default `'causeway/failover-lock'`.
   */
  readonly key?: string
  /**
   * The lease's TTL: a holder that dies or stops renewing it loses the lock this
   * long after its last renewal, and another process may then take it. Whole
   * seconds (etcd's unit), at least 2 (etcd raises shorter ones to about that).
   * Default 5.
   */
  readonly ttlSeconds?: number
  /** How long one call to etcd (grant, compare-and-put, revoke) may take before it fails. Default 2,000 ms. */
  readonly requestTimeoutMillis?: number
  /** etcd's user and password, when its auth is enabled. Kept out of every message and inspection. */
  readonly auth?: { readonly username: string; readonly password: string }
  /** TLS material for `https://` hosts (PEM buffers), as etcd3 takes them. */
  readonly credentials?: {
    readonly rootCertificate: Buffer
    readonly privateKey?: Buffer
    readonly certChain?: Buffer
  }
}

/** The lease of one acquisition, and until when it is surely still valid. */
interface Holding {
  readonly lease: Lease
  /** Not after this (`Date.now()`) without a renewal: the lease may have expired by then. */
  validUntil: number
  lost: boolean
}

const DEFAULT_KEY = 'causeway/failover-lock'

/**
 * The cross-process lock of `failover: 'auto'`: a key in etcd, put under a lease
 * only if no one holds it, so that exactly one app process promotes a replica.
 *
 * - `acquire()` does not wait: it grants a lease of `ttlSeconds`, puts the key
 *   under it if the key does not exist (one etcd transaction), and resolves with a
 *   release function, or undefined when another process holds the key.
 * - While held, the lease is renewed (every third of its TTL). If the holder dies
 *   or stalls, etcd deletes the key when the lease expires, and another process
 *   may take it.
 * - `held()` says whether the lease is surely still valid: it is counted from when
 *   the last renewal that etcd acknowledged was *sent*, so a holder that stalled or
 *   lost etcd for a TTL answers false, and Causeway promotes nothing.
 * - Releasing revokes the lease, which deletes the key at once.
 *
 * One lock serves one app process; it may be shared by several Causeway clusters
 * of that process only if they watch the same database cluster. `close()` closes
 * the gRPC channel: call it after closing the clusters that use it.
 *
 * @example
 * import { createCluster } from '@causeway/core'
 * import { EtcdFailoverLock } from '@causeway/etcd'
 *
 * const lock = new EtcdFailoverLock({ hosts: 'http://etcd:2379', key: 'causeway/orders-db' })
 * const cluster = createCluster({ primary, replicas, failover: 'auto', autoFailover: { lock } })
 * // at shutdown
 * await cluster.close()
 * await lock.close()
 */
export class EtcdFailoverLock implements FailoverLock {
  readonly key: string
  readonly ttlSeconds: number
  readonly requestTimeoutMillis: number
  readonly #client: Etcd3
  readonly #owner = `${hostname()}:${process.pid}`
  #holding: Holding | undefined
  #closed = false

  constructor(options: EtcdFailoverLockOptions) {
    const ttlSeconds = options.ttlSeconds ?? 5
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 2) {
      throw new RangeError(`EtcdFailoverLock: ttlSeconds must be a whole number ≥ 2, got ${ttlSeconds}`)
    }
    this.key = options.key ?? DEFAULT_KEY
    this.ttlSeconds = ttlSeconds
    this.requestTimeoutMillis = options.requestTimeoutMillis ?? 2_000
    // The auth and TLS options go to the client only: no field of this object holds them.
    this.#client = new Etcd3({
      hosts: typeof options.hosts === 'string' ? options.hosts : [...options.hosts],
      dialTimeout: this.requestTimeoutMillis,
      ...(options.auth && { auth: { username: options.auth.username, password: options.auth.password } }),
      ...(options.credentials && { credentials: { ...options.credentials } }),
    })
  }

  async acquire(): Promise<(() => Promise<void>) | undefined> {
    if (this.#closed) throw new Error('EtcdFailoverLock: closed')
    if (this.#holding) return undefined
    const sentAt = Date.now()
    const lease = this.#client.lease(this.ttlSeconds, { deadline: this.#deadline() })
    const holding: Holding = { lease, validUntil: sentAt + this.ttlSeconds * 1_000, lost: false }
    // The lease is renewed only while this process runs: 'lost' is etcd saying it
    // expired or was revoked, or etcd unreachable for twice the TTL.
    lease.on('lost', () => {
      holding.lost = true
    })
    // Renewals are answered in order on one stream: each answer extends the lease
    // from the time its request left, the latest time etcd can have reset the TTL from.
    let fired: number[] = []
    lease.on('keepaliveEstablished', () => {
      fired = []
    })
    lease.on('keepaliveFired', () => {
      fired.push(Date.now())
    })
    lease.on('keepaliveFailed', () => {
      fired = []
    })
    lease.on('keepaliveSucceeded', (response) => {
      const at = fired.shift()
      if (at !== undefined)
        holding.validUntil = Math.max(holding.validUntil, at + Number(response.TTL) * 1_000)
    })
    try {
      const id = await lease.grant()
      const result = await this.#client
        .if(this.key, 'Create', '==', 0)
        .then(this.#client.put(this.key).value(this.#owner).lease(id))
        .options({ deadline: this.#deadline() })
        .commit()
      if (!result.succeeded) {
        await lease.revoke({ deadline: this.#deadline() })
        return undefined
      }
    } catch (error) {
      // The lease expires by itself within its TTL if this revoke fails too.
      lease.revoke({ deadline: this.#deadline() }).catch(() => {})
      throw new Error(`EtcdFailoverLock: could not take ${this.key}: ${messageOf(error)}`, { cause: error })
    }
    this.#holding = holding
    let released: Promise<void> | undefined
    return () => {
      released ??= this.#release(holding)
      return released
    }
  }

  /** Whether the lease taken by `acquire()` is surely still valid: not lost, and renewed within its TTL. */
  held(): boolean {
    const holding = this.#holding
    return holding !== undefined && !holding.lost && Date.now() < holding.validUntil
  }

  /** Revokes a lease still held, and closes the gRPC channel: no socket or timer is left behind. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const holding = this.#holding
    if (holding) await this.#release(holding)
    this.#client.close()
  }

  async #release(holding: Holding): Promise<void> {
    if (this.#holding === holding) this.#holding = undefined
    // Revoking deletes the key at once; if etcd is unreachable the lease expires within its TTL.
    await holding.lease.revoke({ deadline: this.#deadline() }).catch(() => holding.lease.release())
  }

  #deadline(): Date {
    return new Date(Date.now() + this.requestTimeoutMillis)
  }

  /** Names the key and the hosts' count, never the auth. */
  toJSON(): { key: string; ttlSeconds: number } {
    return { key: this.key, ttlSeconds: this.ttlSeconds }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
