import type { TestCluster } from '@causeway/testing'

/** How to reach one node: its URL, name and `host:port` parts. */
export interface NodeAddress {
  readonly name: string
  readonly url: string
  readonly host: string
  readonly port: number
}

/** The primary's and replicas' addresses, and the superuser credentials (which stay out of any output). */
export interface ClusterAddresses {
  readonly primary: NodeAddress
  readonly replicas: readonly NodeAddress[]
  readonly user: string
  readonly password: string
  /** An independent server for the statement-mirror contenders (Dm, Dd), when they run. */
  readonly mirror?: NodeAddress
}

export function clusterAddresses(cluster: TestCluster): ClusterAddresses {
  const address = (node: { name: string; url: string }): NodeAddress => {
    const url = new URL(node.url)
    return { name: node.name, url: node.url, host: url.hostname, port: Number(url.port || 5432) }
  }
  const primaryUrl = new URL(cluster.primary.url)
  return {
    primary: address(cluster.primary),
    replicas: cluster.replicas.map(address),
    user: decodeURIComponent(primaryUrl.username),
    password: decodeURIComponent(primaryUrl.password),
  }
}
