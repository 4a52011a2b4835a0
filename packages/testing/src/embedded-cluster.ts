import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import type { ClusterNode } from './cluster-node.js'
import { BACKUP_EXCLUDES } from './copy-data-dir.js'
import type { EmbeddedNode } from './embedded-node.js'
import { HarnessError } from './harness-error.js'
import type { PortReservation } from './ports.js'
import { ensureSlot, slotName, waitStreaming } from './replication-sql.js'
import { releaseClusterDir } from './run-registry.js'
import { renderSettings, type SettingValue } from './server-config.js'
import type { AddReplicaOptions, TestCluster } from './test-cluster.js'

/** What an embedded cluster needs to grow: made by `startCluster`. */
export interface EmbeddedClusterParts {
  readonly dir: string
  readonly nodes: EmbeddedNode[]
  readonly ports: PortReservation[]
  readonly streamTimeoutMillis: number
  readonly newNode: (name: string) => Promise<{ node: EmbeddedNode; port: PortReservation }>
}

/** A cluster of servers that this process started, in a directory of its own. */
export class EmbeddedCluster implements TestCluster {
  readonly canControlProcesses = true
  readonly #parts: EmbeddedClusterParts
  #closing: Promise<void> | undefined

  constructor(parts: EmbeddedClusterParts) {
    this.#parts = parts
  }

  get primary(): ClusterNode {
    return this.#parts.nodes[0]!
  }

  get replicas(): readonly ClusterNode[] {
    return this.#parts.nodes.slice(1)
  }

  get nodes(): readonly ClusterNode[] {
    return [...this.#parts.nodes]
  }

  async addReplica(options: AddReplicaOptions = {}): Promise<ClusterNode> {
    const source = await this.#writableNode()
    const upstream = (options.upstream as EmbeddedNode | undefined) ?? source
    const name = `pg${this.#parts.nodes.length + 1}`
    const { node, port } = await this.#parts.newNode(name)
    this.#parts.ports.push(port)
    await ensureSlot(upstream, slotName(name))
    // The backup API needs one session from start to stop.
    const session = new pg.Client({ connectionString: source.url })
    session.on('error', () => {})
    await session.connect()
    try {
      await session.query(`select pg_backup_start('causeway-${name}', true)`)
      await node.server.copyDataFrom(source.server, BACKUP_EXCLUDES)
      const { rows } = await session.query<{ labelfile: string }>(
        'select labelfile from pg_backup_stop(false)',
      )
      await node.server.writeDataFile('backup_label', rows[0]?.labelfile ?? '')
    } finally {
      await session.end().catch(() => {})
    }
    await writeStandbyFiles(node, upstream, { port: port.port, cluster_name: name })
    this.#parts.nodes.push(node)
    await node.start()
    await waitStreaming(node, upstream.port, this.#parts.streamTimeoutMillis, () => node.server.logTail())
    return node
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #close(): Promise<void> {
    // The data is thrown away, so an immediate stop is as good as a clean one and faster.
    const results = await Promise.allSettled(
      this.#parts.nodes.map((node) => node.stop({ mode: 'immediate' })),
    )
    await Promise.allSettled(this.#parts.nodes.map((node) => node.kill()))
    await rm(this.#parts.dir, { recursive: true, force: true })
    for (const port of this.#parts.ports) port.release()
    releaseClusterDir(this.#parts.dir)
    const failed = results.flatMap((result, i) =>
      result.status === 'rejected' ? [`${this.#parts.nodes[i]?.name}: ${String(result.reason)}`] : [],
    )
    if (failed.length > 0) throw new HarnessError(`some servers did not stop cleanly:\n${failed.join('\n')}`)
  }

  async #writableNode(): Promise<EmbeddedNode> {
    for (const node of this.#parts.nodes) {
      if (node.server.running && !(await node.isInRecovery())) return node
    }
    throw new HarnessError('no running primary to take a base backup from')
  }
}

/**
 * Turns a copied data directory into a standby of `upstream`: node-specific
 * settings go to `postgresql.auto.conf`, which later `ALTER SYSTEM` calls rewrite,
 * and `standby.signal` makes it start in recovery.
 */
export async function writeStandbyFiles(
  node: EmbeddedNode,
  upstream: ClusterNode,
  settings: Record<string, SettingValue>,
): Promise<void> {
  await node.server.writeDataFile(
    'postgresql.auto.conf',
    renderSettings({
      ...settings,
      primary_conninfo: node.conninfoFor(upstream),
      primary_slot_name: slotName(node.name),
    }),
  )
  await node.server.writeDataFile('standby.signal', '')
}

/** Where a node of the cluster keeps its files. */
export function nodeDir(clusterDir: string, name: string): string {
  return join(clusterDir, name)
}
