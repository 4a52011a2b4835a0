import type { NodeConfig } from '../config/node-config.js'
import { CausewayError } from '../errors/causeway-error.js'
import type { EventHub } from '../events/event-hub.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import { closeNode, type NodeRegistry } from './node-registry.js'

/** What adding and removing replicas at run time works with. */
export interface MembershipParts {
  readonly nodes: NodeRegistry
  readonly topology: Topology
  readonly monitor: HealthMonitor
  readonly events: EventHub
  createNode(config: NodeConfig): DbNode
}

/**
 * Adds validated replica configs (one per host) to a running cluster, all or none:
 * a name already taken adds none and throws `CONFIG_INVALID` naming `caller`.
 * Resolves once each new node's first probe has answered or failed.
 */
export async function addReplicaNodes(
  parts: MembershipParts,
  configs: readonly NodeConfig[],
  caller: string,
): Promise<void> {
  const added: DbNode[] = []
  for (const one of configs) {
    const node = parts.createNode(one)
    if (!parts.nodes.add(node)) {
      for (const made of added) parts.nodes.remove(made)
      await Promise.all([node, ...added].map(closeNode))
      throw new CausewayError('CONFIG_INVALID', `${caller}: a node named "${node.name}" exists`)
    }
    added.push(node)
  }
  for (const node of added) parts.events.emit('replica-added', { node: node.name })
  await Promise.all(added.map((node) => parts.monitor.probe(node)))
}

/**
 * Removes a replica: it takes no new statements at once; running ones finish
 * (drain) before its pool closes. The primary cannot be removed.
 */
export async function removeReplicaNode(parts: MembershipParts, name: string, caller: string): Promise<void> {
  const { nodes, topology, monitor, events } = parts
  const node = nodes.byName(name)
  if (!node) throw new CausewayError('UNKNOWN_NODE', `${caller}: no node named "${name}"`)
  if (node === topology.lastPrimary)
    throw new CausewayError('UNKNOWN_NODE', `${caller}: "${name}" is the primary`)
  node.draining = true
  nodes.remove(node)
  monitor.unwatch(node)
  await closeNode(node)
  events.emit('replica-removed', { node: name })
}
