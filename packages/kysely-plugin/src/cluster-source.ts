import type { Cluster } from '@causeway/core'

/**
 * Where a {@link CausewayDialect}'s drivers get their cluster, and who closes it.
 *
 * - A cluster the app passed in is the app's: drivers use it and never close it.
 * - A cluster the dialect made (from a config or a factory) is shared by every
 *   live Kysely instance of the dialect and closed when the last of them is
 *   destroyed; a Kysely instance created after that gets a new one. So a dialect
 *   can be reused, as `PostgresDialect` with a pool factory can.
 */
export class ClusterSource {
  readonly #make: (() => Cluster) | undefined
  #current: Cluster
  #users = 0
  #closed = false

  constructor(cluster: Cluster | (() => Cluster)) {
    this.#make = typeof cluster === 'function' ? cluster : undefined
    this.#current = typeof cluster === 'function' ? cluster() : cluster
  }

  /** The cluster of the dialect's live Kysely instances (or of the next one). */
  get current(): Cluster {
    return this.#current
  }

  /**
   * Makes a new cluster when the dialect closed the last one, so that a new Kysely
   * instance and `dialect.cluster` agree from the start.
   */
  renew(): Cluster {
    if (this.#closed && this.#make) {
      this.#current = this.#make()
      this.#closed = false
    }
    return this.#current
  }

  /** A driver starts using the cluster. */
  acquire(): Cluster {
    const cluster = this.renew()
    this.#users++
    return cluster
  }

  /** A driver is done with the cluster: the last user of a cluster the dialect made closes it. */
  async release(cluster: Cluster): Promise<void> {
    if (!this.#make || cluster !== this.#current) return
    if (--this.#users > 0) return
    this.#closed = true
    await cluster.close()
  }
}
