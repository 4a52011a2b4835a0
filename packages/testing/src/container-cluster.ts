import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import type { ContainerRuntimeClient } from 'testcontainers'
import { type BaseBackup, PGDATA, standbyArchive, takeBaseBackup } from './container-backup.js'
import { CONTAINER_PORT, ContainerNode, containerConninfo } from './container-node.js'
import {
  containerImage,
  LABEL,
  loadTestcontainers,
  OWNER_LABEL,
  ownerLabel,
  sweepLeftovers,
  type TestcontainersModule,
} from './container-runtime.js'
import { HarnessError } from './harness-error.js'
import { type PortReservation, reservePorts } from './ports.js'
import { ensureSlot, slotName } from './replication-sql.js'
import { defaultRoot } from './run-registry.js'
import { BASE_SETTINGS, renderSettings, type SettingValue } from './server-config.js'
import type { StartClusterOptions } from './start-cluster.js'
import type { AddReplicaOptions, TestCluster } from './test-cluster.js'

/**
 * Who may connect: the official image allows any host for ordinary connections
 * but not for replication, which the standbys on the cluster's network need. The
 * file is copied into every container and named by `hba_file`, so the image's own
 * `pg_hba.conf` does not matter.
 */
const HBA_PATH = '/etc/causeway-pg_hba.conf'
const HBA = 'local all all trust\nhost all all all scram-sha-256\nhost replication all all scram-sha-256\n'

/** A line both the official image and a compatible one log once the server (primary or standby) is up. */
const READY = /database system is ready to accept (read-only )?connections/

/** What a container cluster is made of. */
interface Parts {
  readonly testcontainers: TestcontainersModule
  readonly client: ContainerRuntimeClient
  readonly id: string
  readonly image: string
  readonly network: { readonly id: string; readonly name: string }
  readonly password: string
  readonly waitMillis: number
  /** `-c` settings of every server. */
  readonly settings: Readonly<Record<string, SettingValue>>
  readonly nodes: ContainerNode[]
  readonly ports: PortReservation[]
}

/** A cluster of containers on a network of its own, made by {@link startContainerCluster}. */
export class ContainerCluster implements TestCluster {
  readonly canControlProcesses = true
  readonly #parts: Parts
  #closing: Promise<void> | undefined

  constructor(parts: Parts) {
    this.#parts = parts
  }

  get primary(): ContainerNode {
    const primary = this.#parts.nodes[0]
    if (!primary) throw new HarnessError('the cluster has no primary yet')
    return primary
  }

  get replicas(): readonly ContainerNode[] {
    return this.#parts.nodes.slice(1)
  }

  get nodes(): readonly ContainerNode[] {
    return [...this.#parts.nodes]
  }

  /** Starts the first primary: the image's entrypoint runs `initdb` in the empty data directory. */
  async startPrimary(extra: Readonly<Record<string, SettingValue>>): Promise<ContainerNode> {
    const [port] = this.#parts.ports
    if (!port) throw new HarnessError('no port reserved for the primary')
    return this.#launch('pg1', port.port, extra)
  }

  /** Starts a standby of `upstream` from a base backup, and resolves once it streams. */
  async startStandby(
    name: string,
    port: number,
    upstream: ContainerNode,
    backup: BaseBackup,
  ): Promise<ContainerNode> {
    await ensureSlot(upstream, slotName(name))
    const autoConf = renderSettings({
      primary_conninfo: containerConninfo(upstream.name, this.#parts.password, name),
      primary_slot_name: slotName(name),
    })
    const node = await this.#launch(name, port, {}, standbyArchive(backup, autoConf))
    await node.waitStreaming(upstream)
    return node
  }

  /** Takes a base backup of the running primary through the container API. */
  async backup(label: string): Promise<BaseBackup> {
    const source = await this.#writableNode()
    return takeBaseBackup(source, label)
  }

  async addReplica(options: AddReplicaOptions = {}): Promise<ContainerNode> {
    const source = await this.#writableNode()
    const upstream = options.upstream ?? source
    if (!(upstream instanceof ContainerNode) || !this.#parts.nodes.includes(upstream)) {
      throw new HarnessError('addReplica: the upstream must be a node of this cluster')
    }
    const name = `pg${this.#parts.nodes.length + 1}`
    const [port] = (await reservePorts(1, portsDir())) as [PortReservation]
    this.#parts.ports.push(port)
    const backup = await takeBaseBackup(source, `causeway-${name}`)
    return this.startStandby(name, port.port, upstream, backup)
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #close(): Promise<void> {
    // The data is thrown away: removing a running container kills it, paused ones too.
    const results = await Promise.allSettled(this.#parts.nodes.map((node) => node.remove()))
    const network = await this.#parts.client.container.dockerode
      .getNetwork(this.#parts.network.id)
      .remove()
      .then(
        () => undefined,
        (error: unknown) => ((error as { statusCode?: number }).statusCode === 404 ? undefined : error),
      )
    for (const port of this.#parts.ports) port.release()
    const failed = results.flatMap((result, i) =>
      result.status === 'rejected' ? [`${this.#parts.nodes[i]?.name}: ${String(result.reason)}`] : [],
    )
    if (network) failed.push(`network ${this.#parts.network.name}: ${String(network)}`)
    if (failed.length > 0) throw new HarnessError(`some containers were not removed:\n${failed.join('\n')}`)
  }

  async #launch(
    name: string,
    port: number,
    extra: Readonly<Record<string, SettingValue>>,
    archive?: Readable,
  ): Promise<ContainerNode> {
    const { testcontainers: tc, client } = this.#parts
    const settings = { ...this.#parts.settings, cluster_name: name, ...extra }
    let definition = new tc.GenericContainer(this.#parts.image)
      .withName(`causeway-${this.#parts.id}-${name}`)
      .withLabels({ [LABEL]: this.#parts.id, [OWNER_LABEL]: ownerLabel() })
      .withEnvironment({ POSTGRES_PASSWORD: this.#parts.password, PGDATA })
      .withCommand([
        'postgres',
        ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
      ])
      .withExposedPorts({ container: CONTAINER_PORT, host: port })
      .withNetworkMode(this.#parts.network.name)
      .withNetworkAliases(name)
      .withCopyContentToContainer([{ content: HBA, target: HBA_PATH, mode: 0o644 }])
      // Log waits: the engine may run no healthchecks (podman without systemd), and
      // exec-based port checks leave processes behind there.
      .withWaitStrategy(tc.Wait.forLogMessage(READY))
      .withStartupTimeout(this.#parts.waitMillis)
    if (archive) {
      definition = definition.withCopyArchivesToContainer([
        { tar: Readable.from(archive), target: posix.dirname(PGDATA) },
      ])
    }
    const started = await definition.start()
    const host = started.getHost()
    const node = new ContainerNode({
      name,
      port,
      host: host === 'localhost' ? '127.0.0.1' : host,
      container: started,
      docker: client.container.getById(started.getId()),
      password: this.#parts.password,
      waitMillis: this.#parts.waitMillis,
    })
    this.#parts.nodes.push(node)
    // Replicas start in parallel; the nodes stay in name order (pg1, pg2…), as on the embedded engine.
    this.#parts.nodes.sort((a, b) => Number(a.name.slice(2)) - Number(b.name.slice(2)))
    // The official image logs "ready" once for its init server too, which listens on no TCP port.
    await node.waitReady()
    return node
  }

  async #writableNode(): Promise<ContainerNode> {
    for (const node of this.#parts.nodes) {
      if (await node.isInRecovery().catch(() => true)) continue
      return node
    }
    throw new HarnessError('no running primary to take a base backup from')
  }
}

/**
 * Starts a cluster of containers through testcontainers: the primary from the
 * image, then each replica from one base backup taken through the container API.
 * Called by `startCluster` with `engine: 'containers'`.
 */
export async function startContainerCluster(options: StartClusterOptions): Promise<ContainerCluster> {
  const replicaCount = options.replicas ?? 2
  const progress = options.onProgress ?? (() => {})
  const testcontainers = await loadTestcontainers()
  const client = await testcontainers.getContainerRuntimeClient()
  const swept = await sweepLeftovers(client)
  if (swept > 0) progress(`removed ${swept} container${swept === 1 ? '' : 's'} of crashed runs`)
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`
  const networkName = `causeway-${id}`
  const network = await client.container.dockerode.createNetwork({
    Name: networkName,
    Driver: 'bridge',
    CheckDuplicate: true,
    Labels: { [LABEL]: id, [OWNER_LABEL]: ownerLabel() },
  })
  let ports: PortReservation[] = []
  let cluster: ContainerCluster | undefined
  try {
    ports = await reservePorts(replicaCount + 1, portsDir(), options.basePort)
    // The official entrypoint's init server needs its Unix socket, and the others connect by network.
    const base = Object.fromEntries(
      Object.entries(BASE_SETTINGS).filter(
        ([key]) => key !== 'listen_addresses' && key !== 'unix_socket_directories',
      ),
    )
    cluster = new ContainerCluster({
      testcontainers,
      client,
      id,
      image: containerImage(options.image),
      network: { id: network.id, name: networkName },
      password: randomBytes(12).toString('hex'),
      waitMillis: options.startTimeoutMillis ?? 30_000,
      settings: { ...base, listen_addresses: '*', hba_file: HBA_PATH, ...options.settings },
      nodes: [],
      ports,
    })
    progress(`starting primary pg1 (${containerImage(options.image)}) on port ${ports[0]?.port}`)
    await cluster.startPrimary(primarySettings(replicaCount, options.syncStandbys))
    if (replicaCount > 0) {
      progress(`base backup for ${replicaCount} replica${replicaCount === 1 ? '' : 's'}`)
      const backup = await cluster.backup('causeway-replicas')
      // Level by level: a cascaded replica's slot lives on its upstream, which must run.
      const names = ports.slice(1).map((_, i) => `pg${i + 2}`)
      const levels = options.cascade ? names.map((name) => [name]) : [names]
      for (const level of levels) {
        progress(`starting ${level.join(', ')}`)
        const upstream = cluster.nodes[cluster.nodes.length - 1]!
        await Promise.all(
          level.map((name) => {
            const port = ports[Number(name.slice(2)) - 1]!.port
            return cluster!.startStandby(name, port, upstream, backup)
          }),
        )
      }
    }
  } catch (error) {
    if (cluster) await cluster.close().catch(() => {})
    else {
      await network.remove().catch(() => {})
      for (const port of ports) port.release()
    }
    throw error
  }
  progress(`cluster ready: ${cluster.nodes.map((node) => `${node.name}:${node.port}`).join(', ')}`)
  return cluster
}

function primarySettings(
  replicaCount: number,
  syncStandbys: number | string | undefined,
): Record<string, SettingValue> {
  if (syncStandbys === undefined) return {}
  const names = Array.from({ length: replicaCount }, (_, i) => `pg${i + 2}`)
  return {
    synchronous_standby_names:
      typeof syncStandbys === 'string' ? syncStandbys : `ANY ${syncStandbys} (${names.join(', ')})`,
  }
}

function portsDir(): string {
  return posix.join(defaultRoot(), 'ports')
}
