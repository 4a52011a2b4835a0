import { type ClusterConfig, createCluster, type NodeStatus } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { type StartClusterOptions, startCluster, type TestCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import Cursor from 'pg-cursor'

/** Node names of a test cluster by port, to tell which node served a query. */
export type PortMap = ReadonlyMap<number, string>

/** A real cluster with a Causeway dialect over it. */
export interface Fixture<DB> {
  readonly cluster: TestCluster
  readonly dialect: CausewayDialect
  readonly db: Kysely<DB>
  /** The name of the node on a port (from `inet_server_port()`). */
  readonly nodeAt: (port: number) => string
  /** A node's entry in `status()` now; throws when there is none. */
  readonly nodeStatus: (name: string) => NodeStatus
  /** Closes the Kysely instance and the cluster. */
  readonly close: () => Promise<void>
}

/** The cluster config that points Causeway at a test cluster, with node names pg1, pg2… */
export function clusterConfig(cluster: TestCluster, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    ...extra,
  }
}

/** Starts a cluster and a `Kysely` over `CausewayDialect`. */
export async function setupFixture<DB>(
  options: { cluster?: StartClusterOptions; config?: Partial<ClusterConfig> } = {},
): Promise<Fixture<DB>> {
  const cluster = await startCluster(options.cluster)
  const dialect = new CausewayDialect({ ...clusterConfig(cluster, options.config), cursor: Cursor })
  const db = new Kysely<DB>({ dialect })
  return {
    cluster,
    dialect,
    db,
    // Looked up each time: addReplica() adds nodes.
    nodeAt: (port) =>
      cluster.nodes.find((node) => node.port === Number(port))?.name ?? `unknown port ${port}`,
    nodeStatus: (name) => {
      const node = dialect.cluster.status().nodes.find((n) => n.name === name)
      if (!node) throw new Error(`no node named ${name} in status()`)
      return node
    },
    close: async () => {
      await db.destroy()
      await cluster.close()
    },
  }
}

/** A select-list item that tells which server ran the query: `inet_server_port()` as `served_by`. */
export const servedBy = () => sql<number>`inet_server_port()`.as('served_by')

/** A core cluster (no Kysely) over a test cluster. */
export function coreCluster(cluster: TestCluster, extra: Partial<ClusterConfig> = {}) {
  return createCluster(clusterConfig(cluster, extra))
}
