import type { ConsistencyToken } from '../consistency/token.js'
import type { FallbackReason } from '../events/cluster-events.js'
import type { Balancer } from '../model/balancer.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'

/** Where a read goes: a replica, or the primary with the reason it fell back. */
export type ReadRoute =
  | { readonly node: DbNode; readonly fallback?: undefined }
  | { readonly node: undefined; readonly fallback: FallbackReason; readonly waitFor?: readonly DbNode[] }

/**
 * Picks the replica for a read: the routable replicas (healthy, not fenced, not
 * draining, within `maxLag`) that have replayed the scope's token, chosen by the
 * balancer. When replicas are up but none has caught up to the token, the caller may
 * wait for the ones listed in `waitFor` before falling back.
 */
export class Router {
  readonly #replicas: () => readonly DbNode[]
  readonly #topology: Topology
  readonly #balancer: Balancer
  readonly #candidates: DbNode[] = []

  constructor(replicas: () => readonly DbNode[], topology: Topology, balancer: Balancer) {
    this.#replicas = replicas
    this.#topology = topology
    this.#balancer = balancer
  }

  /** Picks among the eligible replicas, skipping `exclude` (nodes that just failed this read). */
  routeRead(token: ConsistencyToken | undefined, exclude?: ReadonlySet<DbNode>): ReadRoute {
    const all = this.#replicas()
    if (all.length === 0) return { node: undefined, fallback: 'no-replica' }
    // Reused array: this runs on every read.
    const candidates = this.#candidates
    candidates.length = 0
    let healthy = 0
    let lagging: DbNode[] | undefined
    for (const node of all) {
      // The steps of `eligible()`, one by one, to tell why none was.
      if (!servesReads(node) || exclude?.has(node)) continue
      healthy++
      if (node.lagging) continue
      if (token && !node.hasReplayed(token)) {
        if (node.timeline === token.timeline) {
          lagging ??= []
          lagging.push(node)
        }
        continue
      }
      candidates.push(node)
    }
    if (candidates.length === 0) {
      if (healthy === 0) return { node: undefined, fallback: 'all-replicas-unhealthy' }
      if (lagging) return { node: undefined, fallback: 'not-caught-up', waitFor: lagging }
      return { node: undefined, fallback: token ? 'not-caught-up' : 'all-replicas-lagging' }
    }
    return { node: this.pick(candidates) }
  }

  /** The balancer's choice among nodes that are all eligible. */
  pick(candidates: readonly DbNode[]): DbNode {
    if (candidates.length === 1) return candidates[0]!
    return candidates[this.#balancer.pick(candidates)] ?? candidates[0]!
  }

  /**
   * Whether a token can be served as things stand: `system` (another cluster's),
   * `timeline` (an older timeline: its write may have been lost in a failover), or
   * `newer` (a newer timeline than this process has seen: another process saw a
   * failover first, and this one's view of the primary is out of date).
   */
  tokenProblem(token: ConsistencyToken): 'system' | 'timeline' | 'newer' | undefined {
    const systemId = this.#topology.systemId
    if (systemId !== undefined && token.systemId !== systemId) return 'system'
    if (token.timeline < this.#topology.timeline) return 'timeline'
    if (token.timeline > this.#topology.timeline) return 'newer'
    return undefined
  }
}

/**
 * Whether a read may run on `node`: a routable replica (healthy, verified, not
 * fenced, not draining), within `maxLag`, not among the nodes this read already
 * failed on (`tried`), and known to have replayed the scope's token. The one rule;
 * {@link Router.routeRead} applies it step by step to tell why no node passed.
 */
export function eligible(
  node: DbNode,
  token: ConsistencyToken | undefined,
  tried: ReadonlySet<DbNode> | undefined,
): boolean {
  return servesReads(node) && !node.lagging && !tried?.has(node) && (!token || node.hasReplayed(token))
}

function servesReads(node: DbNode): boolean {
  return node.role === 'replica' && node.routable
}
