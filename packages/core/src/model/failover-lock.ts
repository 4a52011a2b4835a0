/**
 * Held while `failover: 'auto'` promotes a replica. Several app processes watching
 * one cluster could each promote a *different* replica and split it in two; give
 * them a shared lock (an etcd lease through `@causeway/etcd`'s `EtcdFailoverLock`,
 * a PostgreSQL advisory lock on a separate, highly available database…) so that
 * only one promotes.
 */
export interface FailoverLock {
  /** Tries to take the lock; resolves with a release function, or undefined when another holder has it. */
  acquire(): Promise<(() => Promise<void>) | undefined>
  /**
   * Whether the lock this process took is still its own, asked right before the
   * promotion. A lease-based lock whose lease may have lapsed (the process stalled,
   * or lost its coordination service for longer than the lease's TTL) answers false,
   * and nothing is promoted: another process may hold the lock by now.
   * Without it, a lock taken is trusted until released.
   */
  held?(): boolean
}
