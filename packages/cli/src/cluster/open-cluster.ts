import { CausewayError, type Cluster, createCluster } from '@causeway/core'
import type { MirrorTarget, Targets } from '../args/command.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'

/**
 * Opens a cluster over the given nodes to look at it, and waits for the first probe
 * of every node. `failover: 'follow'`: it follows a primary that changes, but never
 * promotes anything. One connection per node is plenty for probes.
 *
 * A bad URL is a usage error (exit 2); the message names the problem, never the value.
 * `mirrors` are statement mirrors for `compareMirror`: the CLI makes no writes, so
 * nothing is ever replayed on them.
 */
export async function openCluster(targets: Targets, mirrors: readonly MirrorTarget[] = []): Promise<Cluster> {
  let cluster: Cluster
  try {
    cluster = createCluster({
      primary: targets.primary,
      replicas: targets.replicas,
      ...(mirrors.length > 0 ? { mirrors: mirrors.map(({ url, name }) => ({ url, name })) } : {}),
      failover: 'follow',
      pool: { max: 1 },
      // One look, by an operator: a busy server gets 5 s to answer its first probe
      // before it is called unreachable (the library's default, 1 s, suits routing).
      health: { timeoutMillis: 5_000 },
    })
  } catch (error) {
    if (error instanceof CausewayError && error.code === 'CONFIG_INVALID') {
      throw new CliError(EXIT.usage, error.message)
    }
    throw error
  }
  try {
    await cluster.ready()
  } catch (error) {
    await cluster.close()
    throw error
  }
  return cluster
}

/**
 * Throws (exit code 1) unless a writable primary answered: no primary known at all,
 * or the node in its place failing its probes. The message carries the node's last
 * error, which core has already stripped of credentials.
 */
export function assertPrimaryReachable(cluster: Cluster): void {
  const status = cluster.status()
  const primary = status.nodes.find((node) => node.name === status.primary)
  if (primary?.state === 'healthy') return
  const configured = status.nodes[0]
  const name = primary?.name ?? configured?.name ?? 'the primary'
  const why = primary?.reason ?? configured?.reason
  throw new CliError(EXIT.failure, `primary ${name} is unreachable${why ? `: ${why}` : ''}`)
}
