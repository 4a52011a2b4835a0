import { type ResolvedConfig, replicaEntrySchema } from '../config/config-schema.js'
import type { NodeConfig } from '../config/node-config.js'
import { CheckoutWatch } from '../connection/checkout-watch.js'
import type { ConnectionParts } from '../connection/connection-parts.js'
import { ProvenPositions } from '../connection/proven-positions.js'
import { WriteCapture } from '../connection/write-capture.js'
import { CapturePacer } from '../consistency/capture-pacer.js'
import { ReadDemand } from '../consistency/read-demand.js'
import { ScopeContext } from '../consistency/scope-context.js'
import type { TokenSecrets } from '../consistency/token.js'
import { CausewayError } from '../errors/causeway-error.js'
import { type Counters, createCounters } from '../events/counters.js'
import { EventHub } from '../events/event-hub.js'
import { AutoFailover } from '../failover/auto-failover.js'
import { HealthMonitor } from '../health/health-monitor.js'
import { PrimaryFinder } from '../health/primary-finder.js'
import { MirrorSet } from '../mirror/mirror-set.js'
import { createBalancer } from '../routing/balancers/create-balancer.js'
import { ReadPlanner } from '../routing/read-planner.js'
import { Router } from '../routing/router.js'
import type { DbNode } from '../topology/db-node.js'
import { LagTracker } from '../topology/lag-tracker.js'
import { LeaderAuthority } from '../topology/leader-authority.js'
import { ReplayWaiter, readReplayLsn } from '../topology/replay-waiter.js'
import { Topology } from '../topology/topology.js'
import { registerSecret } from '../util/redact.js'
import { createNode } from './create-node.js'
import { addReplicaNodes, removeReplicaNode } from './membership.js'
import { closeNode, NodeRegistry } from './node-registry.js'
import { PatroniSource } from './patroni-source.js'

/**
 * The pace of eager token captures: at most one per this gap per process, so a
 * stream of writes costs the primary one small query per gap. A read sent within
 * the gap after a write goes to the primary; one sent later finds its token.
 */
const CAPTURE_GAP_MILLIS = 1

/** Every part of a running cluster, wired together once by {@link assembleCluster}. */
export interface ClusterParts extends ConnectionParts {
  readonly config: ResolvedConfig
  readonly nodes: NodeRegistry
  readonly waiter: ReplayWaiter
  readonly autoFailover: AutoFailover | undefined
  /** Follows Patroni's REST API, when `patroni` is configured. */
  readonly patroni: PatroniSource | undefined
  readonly pacer: CapturePacer
  /** Secrets that sign and verify tokens, when `consistency.tokenSecret` is set. */
  readonly secrets: TokenSecrets | undefined
  /** Builds a node from its config, wired to this cluster's monitor (not yet registered). */
  createNode(config: NodeConfig): DbNode
}

/**
 * Builds every part of a cluster from a resolved config, lowest layer first, and
 * registers its nodes (a name used twice is a `CONFIG_INVALID` error, after every
 * pool made so far is ended). Starts nothing: the cluster starts the monitor.
 */
export function assembleCluster(config: ResolvedConfig): ClusterParts {
  const secret = config.consistency.tokenSecret
  const secrets = secret === undefined ? undefined : typeof secret === 'string' ? [secret] : [...secret]
  for (const one of secrets ?? []) registerSecret(one)
  const events = new EventHub()
  const counters: Counters = createCounters()
  const lag = new LagTracker()
  const checkouts = new CheckoutWatch()
  const nodes = new NodeRegistry()
  // The monitor is made after the nodes, which report to it from their pools' events.
  let monitor: HealthMonitor | undefined
  const createNodeOf = (nodeConfig: NodeConfig) =>
    createNode(
      nodeConfig,
      config,
      (node, inHotStandby) => {
        // A primary whose connection says "hot standby" (or the reverse) changed role.
        if ((node.role === 'primary') === inHotStandby) void monitor?.probeAll()
      },
      (node, error) => {
        if (!checkouts.closed) monitor?.reportFailure(node, error)
      },
    )
  // Config order, the primary's candidates first: the first is the configured primary.
  const entries = [
    { field: 'primary', configs: config.primary },
    ...config.replicas.map((configs, i) => ({ field: `replicas[${i}]`, configs })),
  ]
  for (const { field, configs } of entries) {
    for (const nodeConfig of configs) {
      const node = createNodeOf(nodeConfig)
      if (!nodes.add(node)) {
        for (const made of [node, ...nodes.all]) void made.pool.end()
        throw new CausewayError(
          'CONFIG_INVALID',
          configs.length === 1
            ? `invalid Causeway config:\n  ${field}.name: "${node.name}" is used twice`
            : `invalid Causeway config:\n  ${field}: its node "${node.name}" is used twice (a host listed under primary serves reads while it is a standby: list each host once)`,
        )
      }
    }
  }
  const authority = config.patroni ? new LeaderAuthority(() => nodes.all) : undefined
  const topology = new Topology(
    () => nodes.all,
    nodes.all[0]!,
    events,
    lag,
    config.failover !== 'off',
    config.systemId,
    authority,
  )
  const replicas = () => nodes.replicas(topology.lastPrimary)
  const router = new Router(replicas, topology, createBalancer(config.balancer))
  const waiter = new ReplayWaiter(readReplayLsn, config.consistency.replayPollMillis)
  let autoFailover: AutoFailover | undefined
  monitor = new HealthMonitor(
    () => nodes.all,
    topology,
    lag,
    events,
    config,
    (node) => autoFailover?.check(node),
  )
  const health = monitor
  autoFailover =
    config.failover === 'auto'
      ? new AutoFailover(
          config,
          topology,
          events,
          () => nodes.all,
          () => health.probeAll(),
        )
      : undefined
  const primaries = new PrimaryFinder(topology, monitor, config.writeWaitMillis)
  const demand = new ReadDemand()
  const pacer = new CapturePacer(CAPTURE_GAP_MILLIS)
  const planner = new ReadPlanner({
    router,
    topology,
    primaries,
    monitor,
    counters,
    events,
    maxWaitMillis: config.consistency.maxWaitMillis,
    captureOnRead: config.consistency.capture === 'lazy',
    demand,
    pacer,
  })
  const writes = new WriteCapture({
    topology,
    waiter,
    events,
    counters,
    capture: config.consistency.capture,
    pacer,
    demand,
    sync: config.sync,
    replicas,
  })
  const membership = { nodes, topology, monitor, events, createNode: createNodeOf }
  const patroni =
    config.patroni && authority
      ? new PatroniSource({
          config: config.patroni,
          template: config.primary[0]!,
          authority,
          topology,
          monitor,
          events,
          nodes: () => nodes.all,
          addReplica: (nodeConfig) =>
            addReplicaNodes(membership, replicaEntrySchema.parse(nodeConfig), 'patroni.discover'),
          removeReplica: (name) => removeReplicaNode(membership, name, 'patroni.discover'),
        })
      : undefined
  const mirrors =
    config.mirrors.length === 0
      ? undefined
      : new MirrorSet(config.mirrors, config.pg, events, async (sql, parameters) =>
          (await primaries.primary()).pool.query(sql, parameters),
        )
  return {
    config,
    mirrors,
    nodes,
    events,
    counters,
    topology,
    monitor,
    primaries,
    planner,
    writes,
    proofs: new ProvenPositions(),
    reuseProofs: config.consistency.reuseProofs,
    waiter,
    autoFailover,
    patroni,
    pacer,
    checkouts,
    scopes: new ScopeContext(config.consistency.scope === 'process'),
    writeWaitMillis: config.writeWaitMillis,
    secrets,
    createNode: createNodeOf,
  }
}

/**
 * Closes a cluster's parts: checkouts still waiting fail as `CLOSED`, writes
 * waiting for a primary stop waiting, every timer stops, a promotion already sent
 * finishes (none starts), and every node's pool and side connections end.
 */
export async function closeCluster(parts: ClusterParts): Promise<void> {
  parts.checkouts.close()
  parts.topology.wake()
  parts.monitor.stop()
  parts.waiter.stop()
  parts.pacer.stop()
  await parts.autoFailover?.stop()
  await parts.patroni?.stop()
  // Before the nodes: a durable mirror's relay reads the primary's outbox.
  const mirrors = await Promise.allSettled([parts.mirrors?.close()])
  const results = [...mirrors, ...(await Promise.allSettled(parts.nodes.all.map(closeNode)))]
  parts.events.clear()
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed.length > 0) {
    throw new AggregateError(
      failed.map((r) => r.reason),
      'some connections did not close cleanly',
    )
  }
}
