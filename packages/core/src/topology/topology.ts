import type { EventHub } from '../events/event-hub.js'
import type { DbNode } from './db-node.js'
import type { LagTracker } from './lag-tracker.js'

/**
 * Who is the primary, and who is fenced. Decided from what probes (and the query
 * path) saw of every node:
 *
 * - the highest timeline seen is the cluster's; a node on a lower one is fenced. A
 *   writable node there is an old primary that came back after a failover: it never
 *   gets a write again, however advanced its LSN ("newest LSN wins" across
 *   timelines would lose the new primary's writes). A replica there is still
 *   following the old timeline; it is unfenced once it reaches the current one;
 * - of several writable nodes on the current timeline, the current primary stays and
 *   the others are fenced (split brain: an outside manager's job to resolve);
 * - in `follow` and `auto` modes, when the current primary is not writable (or is
 *   down) and exactly one other node is, that node becomes the primary. In `off`
 *   mode the configured primary is kept whatever happens.
 *
 * Every change of primary increments the epoch.
 */
export class Topology {
  readonly #nodes: () => readonly DbNode[]
  readonly #events: EventHub
  readonly #lag: LagTracker
  readonly #follow: boolean
  readonly #configured: DbNode
  #primary: DbNode | undefined
  #epoch = 1
  #maxTimeline = 0
  #systemId: string | undefined
  #waiters: (() => void)[] = []

  constructor(
    nodes: () => readonly DbNode[],
    initialPrimary: DbNode,
    events: EventHub,
    lag: LagTracker,
    follow: boolean,
  ) {
    this.#nodes = nodes
    this.#primary = initialPrimary
    this.#configured = initialPrimary
    this.#events = events
    this.#lag = lag
    this.#follow = follow
  }

  /** The node writes go to, when it is usable; undefined during a failover. */
  get primary(): DbNode | undefined {
    const primary = this.#primary
    if (!primary || primary.fencedBecause || primary.breaker.state === 'down') return undefined
    if (primary.role === 'replica') return undefined
    return primary
  }

  /** The node that was last the primary, usable or not. */
  get lastPrimary(): DbNode | undefined {
    return this.#primary
  }

  get epoch(): number {
    return this.#epoch
  }

  /** The cluster's system identifier: the first primary's. Nodes of another are fenced. */
  get systemId(): string | undefined {
    return this.#systemId
  }

  /** The highest timeline any node has shown. */
  get timeline(): number {
    return this.#maxTimeline
  }

  /** Resolves at the next re-evaluation (after any probe), or after `timeoutMillis`. */
  nextEvaluation(timeoutMillis: number): Promise<void> {
    return new Promise((resolve) => {
      // Not unref'd: a write awaits this, and it is bounded by writeWaitMillis.
      const timer = setTimeout(() => done(), timeoutMillis)
      const done = () => {
        clearTimeout(timer)
        this.#waiters = this.#waiters.filter((w) => w !== done)
        resolve()
      }
      this.#waiters.push(done)
    })
  }

  /** Makes `node` the primary (after a promotion by Causeway). */
  setPrimary(node: DbNode): void {
    const from = this.#primary
    if (from === node) return
    this.#primary = node
    this.#epoch++
    this.#lag.reset()
    this.#events.emit('primary-changed', {
      from: from?.name,
      to: node.name,
      timeline: node.timeline ?? this.#maxTimeline,
      epoch: this.#epoch,
    })
    this.#wake()
  }

  /**
   * Re-decides the primary and fencing after new observations. Decisions come from
   * what the nodes show now, never from an earlier fence: probes arrive in any
   * order, and a node fenced a moment ago as "behind" may be the new primary.
   */
  evaluate(): void {
    const nodes = this.#nodes()
    // The cluster's identity is the configured primary's, so a stray writable node
    // listed by mistake cannot define it.
    this.#systemId ??= this.#configured.systemId
    for (const node of nodes) {
      if (this.#sameSystem(node) && node.timeline !== undefined && node.timeline > this.#maxTimeline) {
        this.#maxTimeline = node.timeline
      }
    }
    const usable = (node: DbNode) =>
      node.role === 'primary' &&
      node.timeline === this.#maxTimeline &&
      node.breaker.state !== 'down' &&
      this.#sameSystem(node)
    const current = this.#primary
    if (this.#follow && (!current || !usable(current))) {
      const candidates = nodes.filter(usable)
      // Several writable nodes on the newest timeline is a split brain: not ours to settle.
      if (candidates.length === 1) this.setPrimary(candidates[0]!)
    }
    const primaryUsable = this.#primary !== undefined && usable(this.#primary)
    for (const node of nodes) {
      const reason = this.#fenceReason(node, primaryUsable)
      if (reason === node.fencedBecause) continue
      const wasFenced = node.fencedBecause !== undefined
      node.fencedBecause = reason
      if (reason && !wasFenced) this.#events.emit('node-fenced', { node: node.name, reason })
      else if (!reason) this.#events.emit('node-up', { node: node.name, role: node.role })
    }
    this.#wake()
  }

  #sameSystem(node: DbNode): boolean {
    return node.systemId === undefined || this.#systemId === undefined || node.systemId === this.#systemId
  }

  #fenceReason(node: DbNode, primaryUsable: boolean): string | undefined {
    if (!this.#sameSystem(node)) {
      return `system identifier ${node.systemId} is not the cluster's ${this.#systemId}: a different database cluster`
    }
    if (node.timeline === undefined) return undefined
    if (node.timeline < this.#maxTimeline) {
      return node.role === 'primary'
        ? `writable on timeline ${node.timeline}, behind the cluster's timeline ${this.#maxTimeline}: an old primary`
        : `on timeline ${node.timeline}, behind the cluster's timeline ${this.#maxTimeline}`
    }
    if (node.role !== 'primary' || node === this.#primary) return undefined
    if (!this.#follow) return 'writable, but not the configured primary (failover is off)'
    return primaryUsable ? `a second writable node besides ${this.#primary!.name}` : undefined
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter()
  }
}
