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

  /** Re-decides the primary and fencing after new observations. */
  evaluate(): void {
    const nodes = this.#nodes()
    if (this.#systemId === undefined) {
      this.#systemId = (
        this.#primary?.systemId !== undefined ? this.#primary : nodes.find((n) => n.role === 'primary')
      )?.systemId
    }
    for (const node of nodes) {
      const sameSystem = node.systemId === undefined || node.systemId === this.#systemId
      if (sameSystem && node.timeline !== undefined && node.timeline > this.#maxTimeline)
        this.#maxTimeline = node.timeline
    }
    const current = this.#primary

    if (this.#follow) {
      const usable = (n: DbNode) =>
        n.role === 'primary' && n.timeline === this.#maxTimeline && n.breaker.state !== 'down'
      if (!current || !usable(current)) {
        const candidates = nodes.filter((n) => usable(n) && !n.fencedBecause)
        if (candidates.length === 1) this.setPrimary(candidates[0]!)
      }
    }

    for (const node of nodes) {
      const reason = this.#fenceReason(node)
      if (reason && !node.fencedBecause) {
        node.fencedBecause = reason
        this.#events.emit('node-fenced', { node: node.name, reason })
      } else if (!reason && node.fencedBecause) {
        node.fencedBecause = undefined
        this.#events.emit('node-up', { node: node.name, role: node.role })
      }
    }
    this.#wake()
  }

  #fenceReason(node: DbNode): string | undefined {
    if (node.systemId !== undefined && this.#systemId !== undefined && node.systemId !== this.#systemId) {
      return `system identifier ${node.systemId} is not the cluster's ${this.#systemId}: a different database cluster`
    }
    if (node.timeline === undefined) return undefined
    if (node.timeline < this.#maxTimeline) {
      return node.role === 'primary'
        ? `writable on timeline ${node.timeline}, behind the cluster's timeline ${this.#maxTimeline}: an old primary`
        : `on timeline ${node.timeline}, behind the cluster's timeline ${this.#maxTimeline}`
    }
    if (node.role === 'primary' && this.#primary && node !== this.#primary && this.#follow) {
      return `a second writable node besides ${this.#primary.name}`
    }
    if (node.role === 'primary' && node !== this.#primary && !this.#follow) {
      return `writable, but not the configured primary (failover is off)`
    }
    return undefined
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter()
  }
}
