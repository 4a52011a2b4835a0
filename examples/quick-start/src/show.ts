import type { Cluster, ClusterEvents, ClusterStatus } from '@causeway/core'

/** Runs one step of the demo and prints each statement it ran with the node that served it. */
export async function step(cluster: Cluster, title: string, run: () => Promise<unknown>): Promise<void> {
  console.log(`\n${title}`)
  const off = cluster.on('statement', (e: ClusterEvents['statement']) => {
    const where = `${e.node} (${e.role})`.padEnd(16)
    console.log(`  ${where} ${e.statement.length > 96 ? `${e.statement.slice(0, 93)}...` : e.statement}`)
  })
  try {
    await run()
  } finally {
    off()
  }
}

/** Prints the cluster's nodes as a table. */
export function printStatus(status: ClusterStatus): void {
  console.log(
    `\nCluster status: primary ${status.primary}, timeline ${status.timeline}, epoch ${status.epoch}`,
  )
  console.table(
    status.nodes.map((n) => ({
      node: n.name,
      role: n.role,
      state: n.state,
      lsn: n.lsn,
      'lag bytes': n.lagBytes ?? '',
      'lag ms': n.lagMillis ?? '',
      served: n.served,
    })),
  )
  const fallbacks = Object.entries(status.fallbacks).filter(([, count]) => count > 0)
  console.log(
    `reads that fell back to the primary: ${fallbacks.map(([reason, n]) => `${n} (${reason})`).join(', ') || 'none'}; ` +
      `reads retried elsewhere: ${status.readRetries}; replicas tried before they were known to have a token: ${status.replayWaits}`,
  )
}

/** Polls `check` every 50 ms until it holds, or throws after `timeoutMillis`. */
export async function waitUntil(check: () => boolean, timeoutMillis: number): Promise<void> {
  const deadline = Date.now() + timeoutMillis
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMillis} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
