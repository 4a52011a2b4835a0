import { formatLsn } from '../consistency/lsn.js'
import type { Counters } from '../events/counters.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import type { ClusterStatus, NodeStatus, PatroniMemberStatus, PatroniStatus } from './cluster-status.js'

/** What the Patroni source adds to a status, when one is configured. */
export interface PatroniReport {
  readonly status: PatroniStatus
  memberStatus(node: DbNode): PatroniMemberStatus | undefined
}

/**
 * A snapshot of the cluster, copied out of the live state: names, roles, states,
 * positions and counters. Nothing in it comes from a node's connection options,
 * so no credential can reach it.
 */
export function buildStatus(
  nodes: readonly DbNode[],
  topology: Topology,
  stats: Counters,
  failover: ClusterStatus['failover'],
  patroni?: PatroniReport,
): ClusterStatus {
  const byAddress = new Map(nodes.map((node) => [node.address, node.name]))
  return {
    primary: topology.primary?.name,
    timeline: topology.timeline,
    systemId: topology.systemId,
    epoch: topology.epoch,
    failover,
    nodes: nodes.map((node) => nodeStatus(node, byAddress, patroni)),
    ...(patroni ? { patroni: patroni.status } : {}),
    fallbacks: { ...stats.fallbacks },
    readRetries: stats.readRetries,
    misclassifiedWrites: stats.misclassifiedWrites,
    staleTokens: stats.staleTokens,
    replayWaits: stats.replayWaits,
    replayWaitsSatisfied: stats.replayWaitsSatisfied,
    mirrorWaits: stats.mirrorWaits,
    mirrorTimeouts: stats.mirrorTimeouts,
  }
}

function nodeStatus(
  node: DbNode,
  byAddress: ReadonlyMap<string, string>,
  patroni: PatroniReport | undefined,
): NodeStatus {
  const replica = node.role === 'replica'
  const member = patroni?.memberStatus(node)
  return {
    name: node.name,
    role: node.role,
    state: node.state,
    reason: node.fencedBecause ?? (node.breaker.state === 'healthy' ? node.refused?.message : node.lastError),
    lsn: node.lsn === undefined ? undefined : formatLsn(node.lsn),
    timeline: node.timeline,
    // A replica's upstream by name when it is one of ours, else as host:port.
    upstream: node.upstream === undefined ? undefined : (byAddress.get(node.upstream) ?? node.upstream),
    lagBytes: replica ? node.lagBytes : undefined,
    lagMillis: replica ? node.lagMillis : undefined,
    lagging: node.lagging,
    replayPaused: node.replayPaused,
    draining: node.draining,
    weight: node.weight,
    inFlight: node.inFlight,
    served: node.served,
    failures: node.failures,
    probes: node.probes,
    ownStatements: node.side.statements + node.captures.statements,
    freshnessChecks: node.freshnessChecks,
    freshnessMisses: node.freshnessMisses,
    latencyMillis: Math.round(node.latencyMillis * 1000) / 1000,
    ...(member ? { patroni: member } : {}),
  }
}
