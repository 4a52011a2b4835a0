import type { EventHub } from '../events/event-hub.js'
import type { DbNode } from './db-node.js'
import type { LagTracker } from './lag-tracker.js'
import type { LeaderAuthority } from './leader-authority.js'

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
 *   mode the configured primary is kept whatever happens;
 * - with an outside manager's view ({@link LeaderAuthority}, from Patroni), a node
 *   takes writes only while the manager names it the leader as well: a writable
 *   node it does not name is fenced, and while it names none, nobody writes.
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
  readonly #pinned: boolean
  readonly #authority: LeaderAuthority | undefined
  #waiters: (() => void)[] = []
  #demoting:
    | { readonly node: DbNode; readonly settled: Promise<void>; readonly settle: () => void }
    | undefined

  /**
   * `systemId` pins the cluster's identity (config `systemId`); without it, the
   * identity is the configured primary's, learned at its first probe. `authority`
   * is the outside manager's view of who leads, when one is configured.
   */
  constructor(
    nodes: () => readonly DbNode[],
    initialPrimary: DbNode,
    events: EventHub,
    lag: LagTracker,
    follow: boolean,
    systemId?: string,
    authority?: LeaderAuthority,
  ) {
    this.#authority = authority
    this.#nodes = nodes
    this.#primary = initialPrimary
    this.#configured = initialPrimary
    this.#events = events
    this.#lag = lag
    this.#follow = follow
    this.#systemId = systemId
    this.#pinned = systemId !== undefined
    // Without a pinned identity the configured primary defines it, so it is trusted
    // by configuration; with one, it must prove it like every other node.
    initialPrimary.verified = systemId === undefined
  }

  /**
   * The node writes go to, when it is usable; undefined during a failover, and
   * while a failover decides whether to replace it ({@link beginDemotion}).
   */
  get primary(): DbNode | undefined {
    const primary = this.#primary
    if (!primary || primary.fencedBecause || primary.breaker.state === 'down') return undefined
    if (primary.role === 'replica' || !primary.verified || primary === this.#demoting?.node) return undefined
    if (this.#authority?.verdict(primary) === 'not-leader') return undefined
    return primary
  }

  /**
   * Whether `node` may acknowledge a write to the app: it is the primary, and no
   * failover is deciding whether to replace it. Otherwise the write must wait for
   * {@link demotionSettled} and ask again: a write the old primary acknowledged
   * while a replica was promoted is not on the new primary. Nor is one acknowledged
   * after the outside manager gave the leader key to another node.
   */
  mayAcknowledge(node: DbNode): boolean {
    return (
      this.#primary === node &&
      this.#demoting?.node !== node &&
      node.fencedBecause === undefined &&
      this.#authority?.verdict(node) !== 'not-leader'
    )
  }

  /** The node a failover is deciding whether to replace, if any. */
  get demoting(): DbNode | undefined {
    return this.#demoting?.node
  }

  /** Resolves when the failover deciding about a primary has decided (at once if none is). */
  demotionSettled(): Promise<void> {
    return this.#demoting?.settled ?? Promise.resolve()
  }

  /**
   * A failover is about to decide whether to replace `node`: from now on no
   * statement is sent to it as the primary, so nothing it acknowledges can be lost
   * to the promotion. {@link endDemotion} ends this, whatever was decided.
   */
  beginDemotion(node: DbNode): void {
    let settle = () => {}
    const settled = new Promise<void>((resolve) => {
      settle = resolve
    })
    this.#demoting = { node, settled, settle }
  }

  /** The failover decided: the node stays the primary, or was replaced. */
  endDemotion(): void {
    const demoting = this.#demoting
    this.#demoting = undefined
    demoting?.settle()
    this.#wake()
  }

  /** The node that was last the primary, usable or not. */
  get lastPrimary(): DbNode | undefined {
    return this.#primary
  }

  get epoch(): number {
    return this.#epoch
  }

  /**
   * The cluster's system identifier: pinned by config, else the configured
   * primary's. Undefined until known; until then no other node is trusted.
   */
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
    // listed by mistake cannot define it; another node is trusted only once its
    // identifier is known to match (a foreign server must never serve a read or
    // take a write just because our primary was down when it was first seen).
    this.#systemId ??= this.#configured.systemId
    for (const node of nodes) {
      node.verified =
        this.#systemId === undefined
          ? node === this.#configured
          : node.systemId === undefined
            ? node === this.#configured && !this.#pinned // before its first probe
            : node.systemId === this.#systemId
      // A writable node the outside manager does not name was promoted behind its
      // back (or has not been named yet): its timeline does not make the leader's old.
      const unnamed = node.role === 'primary' && this.#authority?.verdict(node) === 'not-leader'
      if (node.verified && !unnamed && node.timeline !== undefined && node.timeline > this.#maxTimeline) {
        this.#maxTimeline = node.timeline
      }
    }
    const usable = (node: DbNode) =>
      node.role === 'primary' &&
      node.timeline === this.#maxTimeline &&
      node.breaker.state !== 'down' &&
      node.verified &&
      this.#authority?.verdict(node) !== 'not-leader'
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

  #fenceReason(node: DbNode, primaryUsable: boolean): string | undefined {
    if (node.systemId !== undefined && this.#systemId !== undefined && node.systemId !== this.#systemId) {
      return `system identifier ${node.systemId} is not the cluster's ${this.#systemId}: a different database cluster`
    }
    if (!node.verified || node.timeline === undefined) return undefined
    if (node.timeline < this.#maxTimeline) {
      return node.role === 'primary'
        ? `writable on timeline ${node.timeline}, behind the cluster's timeline ${this.#maxTimeline}: an old primary`
        : `on timeline ${node.timeline}, behind the cluster's timeline ${this.#maxTimeline}`
    }
    if (node.role !== 'primary' || node === this.#primary) return undefined
    const primary = this.#primary
    if (primary && sameServer(node, primary)) {
      return `the same server as the primary ${primary.name} (same system, timeline and start time), listed twice`
    }
    if (!this.#follow) return 'writable, but not the configured primary (failover is off)'
    const refused = this.#authority?.refusal(node)
    if (refused) return refused
    return primaryUsable ? `a second writable node besides ${primary!.name}` : undefined
  }

  /** Wakes everything waiting in {@link nextEvaluation} (the cluster is closing). */
  wake(): void {
    this.#wake()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter()
  }
}

/**
 * Two entries that reach one server (a name and an IP, or a pooler in front): the
 * same system, timeline and postmaster start time (microseconds) cannot be two
 * servers, since a copy of a data directory starts at its own time.
 */
function sameServer(a: DbNode, b: DbNode): boolean {
  return (
    a.systemId !== undefined &&
    a.systemId === b.systemId &&
    a.timeline === b.timeline &&
    a.lifetime !== undefined &&
    a.lifetime === b.lifetime
  )
}
