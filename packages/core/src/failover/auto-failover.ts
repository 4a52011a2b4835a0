import type { ResolvedConfig } from '../config/config-schema.js'
import { parseLsn } from '../consistency/lsn.js'
import type { EventHub } from '../events/event-hub.js'
import type { FailoverLock } from '../model/failover-lock.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import { redact } from '../util/redact.js'
import { InProcessFailoverLock } from './in-process-failover-lock.js'
import { promoteNode } from './promote-node.js'

/**
 * `failover: 'auto'`: when the primary has been failing for
 * `autoFailover.primaryDownMillis` and is down, promote the most advanced healthy
 * replica on the cluster's timeline, and re-point the others to it.
 *
 * Under the lock, the old primary is demoting: nothing is sent to it, and a write it
 * acknowledges meanwhile counts only if it stays the primary. Every node is probed
 * again; if the old primary answers (a stall, not a crash), the failover is called
 * off (`failover-cancelled`). A failover that finds nothing to promote is retried no
 * sooner than `primaryDownMillis` later.
 *
 * Every app process running `auto` watches the same cluster. Without a shared
 * lock, two processes can promote two different replicas and split the cluster:
 * the config requires `autoFailover.lock` or `autoFailover.singleProcess`. A lock
 * with `held()` is asked once more right before the promotion.
 */
export class AutoFailover {
  readonly #config: ResolvedConfig
  readonly #topology: Topology
  readonly #events: EventHub
  readonly #nodes: () => readonly DbNode[]
  readonly #lock: FailoverLock
  #running: Promise<void> | undefined
  #stopped = false
  /** Not before this time (`Date.now()`) after a failover that failed. */
  #retryAt = 0

  readonly #refresh: () => Promise<void>

  /** `refresh` probes every node now: the decision must not rest on cached state. */
  constructor(
    config: ResolvedConfig,
    topology: Topology,
    events: EventHub,
    nodes: () => readonly DbNode[],
    refresh: () => Promise<void>,
  ) {
    this.#config = config
    this.#topology = topology
    this.#events = events
    this.#nodes = nodes
    this.#refresh = refresh
    this.#lock = config.autoFailover.lock ?? new InProcessFailoverLock()
  }

  /** Called after every probe: starts a failover when the primary has been down long enough. */
  check(probed: DbNode): void {
    const primary = this.#topology.lastPrimary
    if (this.#running || this.#stopped || !primary || probed !== primary) return
    if (this.#topology.primary || primary.breaker.state !== 'down') return
    const since = primary.failingSince
    if (since === undefined || Date.now() - since < this.#config.autoFailover.primaryDownMillis) return
    // A failover that found nothing to promote is not retried on every probe.
    if (Date.now() < this.#retryAt) return
    this.#running = this.#failover(primary).finally(() => {
      this.#running = undefined
    })
  }

  /** Stops deciding failovers; resolves once one in progress has ended (`close()` awaits it). */
  stop(): Promise<void> {
    this.#stopped = true
    return this.#running ?? Promise.resolve()
  }

  async #failover(from: DbNode): Promise<void> {
    // A user's lock may throw rather than reject: either way, no failover.
    const release = await Promise.resolve()
      .then(() => this.#lock.acquire())
      .catch(() => undefined)
    if (!release) return
    const started = Date.now()
    const failingFor = started - (from.failingSince ?? started)
    // From here until the decision, nothing is sent to the old primary: a write it
    // acknowledged while a replica is being promoted would be lost with its timeline.
    this.#topology.beginDemotion(from)
    try {
      // Holding the lock, look again: another process may have promoted already, or
      // the primary may answer again (a stall, not a crash).
      await this.#refresh()
      if (this.#stopped) return
      if (from.answeredAt !== undefined && from.answeredAt >= started && from.role === 'primary') {
        // It answered the re-probe: it is alive and still the primary. Replacing it
        // now would throw away whatever it acknowledged since it came back.
        this.#events.emit('failover-cancelled', {
          from: from.name,
          reason: `${from.name} answered the re-probe after failing for ${failingFor} ms`,
        })
        return
      }
      const timeline = this.#topology.timeline
      const writable = this.#nodes().some(
        (node) =>
          node !== from &&
          node.role === 'primary' &&
          node.verified &&
          node.breaker.state !== 'down' &&
          (node.timeline ?? 0) >= timeline,
      )
      if (writable || (this.#topology.lastPrimary !== from && this.#topology.primary)) return
      this.#events.emit('failover-started', {
        from: from.name,
        reason: `${from.name} failing for ${failingFor} ms: ${from.lastError ?? 'unreachable'}`,
      })
      const target = await this.#mostAdvanced(from, timeline)
      // The cluster closed meanwhile: promote nothing.
      if (this.#stopped) return
      if (!target) {
        this.#retryAt =
          Date.now() +
          Math.max(this.#config.autoFailover.primaryDownMillis, this.#config.health.intervalMillis)
        this.#events.emit('failover-failed', {
          from: from.name,
          error: 'no healthy replica on the current timeline',
        })
        return
      }
      // A lease-based lock may have lapsed while this process stalled or lost its
      // coordination service: another process may hold it now and be promoting.
      if (this.#lock.held && !this.#lock.held()) {
        this.#events.emit('failover-cancelled', {
          from: from.name,
          reason: 'the failover lock lapsed before the promotion',
        })
        return
      }
      const { failed } = await promoteNode(target, this.#nodes(), this.#topology)
      this.#events.emit('failover-completed', {
        from: from.name,
        to: target.name,
        timeline: target.timeline ?? timeline + 1,
        durationMillis: Date.now() - started,
      })
      if (failed.length > 0) {
        this.#events.emit('failover-failed', {
          from: from.name,
          error: redact(`promoted ${target.name}, but could not re-point: ${failed.join('; ')}`),
        })
      }
    } catch (error) {
      this.#retryAt =
        Date.now() + Math.max(this.#config.autoFailover.primaryDownMillis, this.#config.health.intervalMillis)
      this.#events.emit('failover-failed', { from: from.name, error: redact((error as Error).message) })
    } finally {
      this.#topology.endDemotion()
      await Promise.resolve()
        .then(() => release())
        .catch(() => {})
    }
  }

  /**
   * The healthy replica on the current timeline that has received the most WAL,
   * read now (`pg_last_wal_receive_lsn()`, else the replay position): promoting it
   * loses the least.
   */
  async #mostAdvanced(from: DbNode, timeline: number): Promise<DbNode | undefined> {
    const candidates = this.#nodes().filter(
      (node) => node !== from && node.role === 'replica' && node.routable && node.timeline === timeline,
    )
    const positions = await Promise.all(
      candidates.map(async (node) => {
        try {
          const [row] = await node.side.run<{ lsn: string | null }>(
            'select coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text as lsn',
          )
          return row?.lsn ? parseLsn(row.lsn) : undefined
        } catch {
          return undefined
        }
      }),
    )
    let best: DbNode | undefined
    let bestLsn = -1n
    candidates.forEach((node, i) => {
      const lsn = positions[i]
      if (lsn !== undefined && lsn > bestLsn) {
        best = node
        bestLsn = lsn
      }
    })
    return best
  }
}
