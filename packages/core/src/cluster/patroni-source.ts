import type { ResolvedConfig } from '../config/config-schema.js'
import { nodeConfigAt } from '../config/expand-node.js'
import type { NodeConfig } from '../config/node-config.js'
import type { EventHub } from '../events/event-hub.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { PatroniMemberStatus, PatroniStatus } from '../status/cluster-status.js'
import type { DbNode } from '../topology/db-node.js'
import { type Disagreement, disagreement, type LeaderAuthority } from '../topology/leader-authority.js'
import {
  fetchPatroniView,
  type PatroniEndpoint,
  type PatroniView,
  patroniEndpoint,
} from '../topology/patroni-view.js'
import type { Topology } from '../topology/topology.js'
import { redact } from '../util/redact.js'

/** Polls in a row a disagreement must last before it is reported: a switchover shows one for a moment. */
const DISAGREEMENT_POLLS = 2

/** What a {@link PatroniSource} works with. */
export interface PatroniSourceParts {
  readonly config: NonNullable<ResolvedConfig['patroni']>
  /** The configured primary's settings: discovered members get them at their own address. */
  readonly template: NodeConfig
  readonly authority: LeaderAuthority
  readonly topology: Topology
  readonly monitor: HealthMonitor
  readonly events: EventHub
  readonly nodes: () => readonly DbNode[]
  /** Adds a discovered member as a replica (as `cluster.addReplica` does). */
  addReplica(config: NodeConfig): Promise<void>
  /** Removes a node this source added (as `cluster.removeReplica` does). */
  removeReplica(name: string): Promise<void>
}

/**
 * Follows a Patroni cluster through its REST API (`GET /cluster`) on its own
 * timer (unref'd, stopped by `close()`): hands each view to the
 * {@link LeaderAuthority} that the topology consults before any write, probes every
 * node at once when Patroni names a new leader, reports where Patroni and the
 * servers disagree, and (with `discover`) keeps the node list in step with the
 * members Patroni lists.
 */
export class PatroniSource {
  readonly #parts: PatroniSourceParts
  readonly #endpoints: readonly PatroniEndpoint[]
  /** The endpoint that answered last: asked first next time. */
  #preferred = 0
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined
  #stopped = false
  #reachable: boolean | undefined
  #answeredAt: number | undefined
  #error: string | undefined
  #leader: string | undefined
  /** Nodes this source added, by name: only these does it remove. */
  readonly #discovered = new Set<string>()
  /** Per node name: the disagreement seen, and for how many polls in a row. */
  readonly #disagreements = new Map<string, { readonly text: string; polls: number }>()

  constructor(parts: PatroniSourceParts) {
    this.#parts = parts
    this.#endpoints = parts.config.urls.map(patroniEndpoint)
  }

  /** Starts polling now. */
  start(): void {
    void this.poll()
  }

  /** Asks Patroni now (coalesced with a poll in flight), then re-arms the timer. */
  poll(): Promise<void> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined
      this.#schedule()
    })
    return this.#polling
  }

  /** Stops polling; resolves once a poll in flight has ended. */
  stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    return this.#polling ?? Promise.resolve()
  }

  /** How the view of Patroni stands, for `status()`. */
  get status(): PatroniStatus {
    const view = this.#parts.authority.view
    return {
      reachable: this.#reachable === true,
      source: view?.source,
      leader: view?.leader?.name,
      members: view?.members.length ?? 0,
      answeredAt: this.#answeredAt,
      error: this.#error,
    }
  }

  /** What Patroni says of `node`, for its status; undefined when it does not list it. */
  memberStatus(node: DbNode): PatroniMemberStatus | undefined {
    const member = this.#parts.authority.memberOf(node)
    if (!member) return undefined
    const seen = this.#disagreements.get(node.name)
    return {
      member: member.name,
      role: member.role,
      state: member.state,
      timeline: member.timeline,
      lagBytes: member.lagBytes,
      disagreement: seen && seen.polls >= DISAGREEMENT_POLLS ? seen.text : undefined,
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.poll(), this.#parts.config.intervalMillis)
    this.#timer.unref()
  }

  async #poll(): Promise<void> {
    const view = await this.#ask()
    if (this.#stopped) return
    const { authority, topology, monitor, events } = this.#parts
    if (!view) {
      // Nobody to ask: the probes decide alone, as without Patroni.
      authority.update(undefined)
      if (this.#reachable !== false) events.emit('patroni-unreachable', { error: this.#error ?? 'no answer' })
      this.#reachable = false
      topology.evaluate()
      return
    }
    if (this.#reachable === false) events.emit('patroni-reachable', { source: view.source })
    this.#reachable = true
    this.#answeredAt = Date.now()
    this.#error = undefined
    authority.update(view)
    if (this.#parts.config.discover) await this.#discover(view)
    if (this.#stopped) return
    const leader = view.leader ? authority.nodeOf(view.leader) : undefined
    if (view.leader?.name !== this.#leader || (leader && leader !== topology.lastPrimary)) {
      // Patroni named another leader: see what the servers say now, not at their
      // next probe. The topology makes it the primary once its probe shows it writable.
      this.#leader = view.leader?.name
      void monitor.probeAll()
    }
    topology.evaluate()
    this.#compare()
  }

  /** The first answer among the endpoints, starting with the one that answered last. */
  async #ask(): Promise<PatroniView | undefined> {
    const errors: string[] = []
    const count = this.#endpoints.length
    for (let i = 0; i < count && !this.#stopped; i++) {
      const index = (this.#preferred + i) % count
      try {
        const view = await fetchPatroniView(this.#endpoints[index]!, this.#parts.config.timeoutMillis)
        this.#preferred = index
        return view
      } catch (error) {
        errors.push((error as Error).message)
      }
    }
    this.#error = redact(errors.join('; '))
    return undefined
  }

  /** Adds the members no node matches; removes nodes this source added that Patroni no longer lists. */
  async #discover(view: PatroniView): Promise<void> {
    const { authority, template, topology } = this.#parts
    for (const member of view.members) {
      if (authority.nodeOf(member) || this.#stopped) continue
      try {
        await this.#parts.addReplica(nodeConfigAt(template, member.name, member.host, member.port))
        this.#discovered.add(member.name)
      } catch {
        // A name taken by a node that is not this member: it stays unmatched, and
        // its disagreement (if any) shows in status. Nothing is replaced.
      }
    }
    const listed = new Set(view.members.map((m) => m.name))
    for (const name of this.#discovered) {
      if (listed.has(name) || this.#stopped) continue
      const node = this.#parts.nodes().find((n) => n.name === name)
      if (node === topology.lastPrimary) continue
      this.#discovered.delete(name)
      if (node) await this.#parts.removeReplica(name).catch(() => {})
    }
  }

  /** Notes where Patroni and the servers disagree; reports one that lasts. */
  #compare(): void {
    const { authority, events } = this.#parts
    const seen = new Set<string>()
    for (const node of this.#parts.nodes()) {
      const member = authority.memberOf(node)
      const found: Disagreement | undefined = member && disagreement(member, node)
      if (!found) continue
      seen.add(node.name)
      const text = `Patroni says ${found.patroni}, the server is ${found.server}`
      const before = this.#disagreements.get(node.name)
      const entry = before?.text === text ? before : { text, polls: 0 }
      entry.polls++
      this.#disagreements.set(node.name, entry)
      if (entry.polls === DISAGREEMENT_POLLS) {
        events.emit('topology-disagreement', { node: node.name, ...found })
      }
    }
    for (const name of this.#disagreements.keys()) if (!seen.has(name)) this.#disagreements.delete(name)
  }
}
