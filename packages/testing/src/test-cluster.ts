import type { ClusterNode } from './cluster-node.js'

/** Options of {@link TestCluster.addReplica}. */
export interface AddReplicaOptions {
  /** The node to stream from; by default the primary. Use a replica for a chain. */
  readonly upstream?: ClusterNode
}

/** A running primary with its streaming replicas. */
export interface TestCluster extends AsyncDisposable {
  /** The node started as the primary. It stays this node after a promotion elsewhere. */
  readonly primary: ClusterNode
  /** The nodes started as replicas, in order, then those added by {@link addReplica}. */
  readonly replicas: readonly ClusterNode[]
  /** The primary, then the replicas. */
  readonly nodes: readonly ClusterNode[]
  /** False for a cluster you bring: its servers cannot be stopped, started, killed or frozen from here. */
  readonly canControlProcesses: boolean
  /**
   * Adds a hot standby to the running cluster: a base backup taken with the
   * online backup API (`pg_backup_start`/`pg_backup_stop`) from the primary.
   * Resolves once it streams.
   */
  addReplica(options?: AddReplicaOptions): Promise<ClusterNode>
  /** Stops every server (thawing frozen ones), removes the data and frees the ports. Safe to call twice. */
  close(): Promise<void>
}
