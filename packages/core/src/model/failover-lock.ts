/**
 * Held while `failover: 'auto'` promotes a replica. Several app processes watching
 * one cluster could each promote a *different* replica and split it in two; give
 * them a shared lock (a PostgreSQL advisory lock on a separate, highly available
 * database, a Consul or etcd lease…) so that only one promotes.
 */
export interface FailoverLock {
  /** Tries to take the lock; resolves with a release function, or undefined when another holder has it. */
  acquire(): Promise<(() => Promise<void>) | undefined>
}

/**
 * The default lock: exclusive within this process only. Safe when one process runs
 * `auto` failover (a single app instance, or a dedicated sidecar); not across processes.
 */
export class InProcessFailoverLock implements FailoverLock {
  #held = false

  async acquire(): Promise<(() => Promise<void>) | undefined> {
    if (this.#held) return undefined
    this.#held = true
    return async () => {
      this.#held = false
    }
  }
}
