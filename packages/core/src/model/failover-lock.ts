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
