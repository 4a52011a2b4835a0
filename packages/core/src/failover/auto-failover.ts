import type { ResolvedConfig } from '../config/config-schema.js'
import type { EventHub } from '../events/event-hub.js'
import type { NodeMember } from '../topology/create-node.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import { redact } from '../util/redact.js'
import { type FailoverLock, InProcessFailoverLock } from './failover-lock.js'
import { promoteNode } from './promote-node.js'

/**
 * `failover: 'auto'`: when the primary has been failing for
 * `autoFailover.primaryDownMillis` and is down, promote the most advanced healthy
 * replica on the cluster's timeline, and re-point the others to it.
 *
 * Danger: every app process running `auto` watches the same cluster. Without a
 * shared lock, two processes can promote two different replicas and split the
 * cluster. The default lock only excludes promotions within this process.
 */
export class AutoFailover {
  readonly #config: ResolvedConfig
  readonly #topology: Topology
  readonly #events: EventHub
  readonly #members: () => readonly NodeMember[]
  readonly #lock: FailoverLock
  #running = false
  #stopped = false

  constructor(
    config: ResolvedConfig,
    topology: Topology,
    events: EventHub,
    members: () => readonly NodeMember[],
  ) {
    this.#config = config
    this.#topology = topology
    this.#events = events
    this.#members = members
    this.#lock = config.autoFailover.lock ?? new InProcessFailoverLock()
  }

  /** Called after every probe: starts a failover when the primary has been down long enough. */
  check(probed: DbNode): void {
    const primary = this.#topology.lastPrimary
    if (this.#running || this.#stopped || !primary || probed !== primary) return
    if (this.#topology.primary || primary.breaker.state !== 'down') return
    const since = primary.failingSince
    if (since === undefined || Date.now() - since < this.#config.autoFailover.primaryDownMillis) return
    this.#running = true
    void this.#failover(primary).finally(() => {
      this.#running = false
    })
  }

  stop(): void {
    this.#stopped = true
  }

  async #failover(from: DbNode): Promise<void> {
    const release = await this.#lock.acquire().catch(() => undefined)
    if (!release) return
    const started = Date.now()
    try {
      if (this.#topology.primary || this.#stopped) return
      this.#events.emit('failover-started', {
        from: from.name,
        reason: `${from.name} down for ${started - (from.failingSince ?? started)} ms: ${from.lastError ?? 'unreachable'}`,
      })
      const timeline = this.#topology.timeline
      const candidates = this.#members()
        .filter(
          ({ node }) =>
            node !== from && node.role === 'replica' && node.routable && node.timeline === timeline,
        )
        .sort((a, b) => (a.node.lsn === b.node.lsn ? 0 : (a.node.lsn ?? 0n) > (b.node.lsn ?? 0n) ? -1 : 1))
      const target = candidates[0]
      if (!target) {
        this.#events.emit('failover-failed', {
          from: from.name,
          error: 'no healthy replica on the current timeline',
        })
        return
      }
      const { failed } = await promoteNode(target, this.#members(), this.#topology)
      this.#events.emit('failover-completed', {
        from: from.name,
        to: target.node.name,
        timeline: target.node.timeline ?? timeline + 1,
        durationMillis: Date.now() - started,
      })
      if (failed.length > 0) {
        this.#events.emit('failover-failed', {
          from: from.name,
          error: `promoted ${target.node.name}, but could not re-point: ${failed.join('; ')}`,
        })
      }
    } catch (error) {
      this.#events.emit('failover-failed', { from: from.name, error: redact((error as Error).message) })
    } finally {
      await release().catch(() => {})
    }
  }
}
