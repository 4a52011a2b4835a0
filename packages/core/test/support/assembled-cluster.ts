import { type StartClusterOptions, startCluster, type TestCluster } from '@causeway/testing'
import { assembleCluster, type ClusterParts, closeCluster } from '../../src/cluster/cluster-parts.js'
import type { ClusterConfig } from '../../src/config/cluster-config.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { Statement } from '../../src/model/statement.js'
import type { DbNode } from '../../src/topology/db-node.js'

/** A real cluster and the engine's parts over it, wired as `Cluster` wires them, without the facade. */
export interface AssembledCluster {
  readonly cluster: TestCluster
  readonly parts: ClusterParts
  /** The engine's node for a test node's name (`pg1`, `pg2`…). */
  readonly node: (name: string) => DbNode
  /** Closes the parts, then the cluster. */
  readonly close: () => Promise<void>
}

/**
 * Starts a cluster and assembles the parts over it (`assembleCluster(resolveConfig(config))`,
 * the seam `Cluster` is built on), with every node probed once: roles, positions and
 * the topology are known. Probing re-arms the monitor's (unref'd) timers, as
 * `Cluster` does when it starts.
 */
export async function assembledCluster(
  options: { cluster?: StartClusterOptions; config?: Partial<ClusterConfig> } = {},
): Promise<AssembledCluster> {
  const cluster = await startCluster(options.cluster)
  try {
    const parts = assembleCluster(
      resolveConfig({
        primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
        replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
        ...options.config,
      }),
    )
    await parts.monitor.probeAll()
    return {
      cluster,
      parts,
      node: (name) => {
        const node = parts.nodes.byName(name)
        if (!node) throw new Error(`no node named ${name}`)
        return node
      },
      close: async () => {
        await closeCluster(parts)
        await cluster.close()
      },
    }
  } catch (error) {
    await cluster.close()
    throw error
  }
}

/** A read statement, as the router gets it. */
export const read = (sql: string, parameters: readonly unknown[] = []): Statement => ({
  sql,
  parameters,
  intent: 'read',
})

/** A write statement, as the router gets it. */
export const write = (sql: string, parameters: readonly unknown[] = []): Statement => ({
  sql,
  parameters,
  intent: 'write',
})
