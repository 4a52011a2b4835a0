import type { ResolvedConfig } from '../config/config-schema.js'
import { CausewayError } from '../errors/causeway-error.js'
import { refusedFunction } from '../errors/refused-function.js'
import type { EventHub } from '../events/event-hub.js'
import type { DbNode, ProbeResult } from '../topology/db-node.js'
import type { LagTracker } from '../topology/lag-tracker.js'
import type { Topology } from '../topology/topology.js'
import { redact } from '../util/redact.js'
import { probeNode } from './node-probe.js'

/**
 * The shortest gap between two probes of one node that traffic asks for (a write
 * waiting for the primary, a failed statement): short enough that a server that
 * answers again is seen at once, long enough that a burst of failures under load
 * makes a handful of probes, not thousands.
 */
const WANTED_GAP_MILLIS = 20

/**
 * Probes every node on its own timer (unref'd, stopped by `close()`), feeds each
 * node's circuit breaker, and passes what it saw to the topology. A probe also
 * reads the node's replay position, so the cached positions are at most one
 * interval old. They only choose where a read is tried: the read proves its
 * freshness itself, in its own flight.
 */
export class HealthMonitor {
  readonly #nodes: () => readonly DbNode[]
  readonly #topology: Topology
  readonly #lag: LagTracker
  readonly #events: EventHub
  readonly #config: ResolvedConfig
  readonly #timers = new Map<DbNode, NodeJS.Timeout>()
  readonly #running = new Map<DbNode, Promise<void>>()
  readonly #lastProbe = new Map<DbNode, number>()
  readonly #afterProbe: (node: DbNode) => void
  /** The refusal last reported per node: a `function-refused` event goes out once per node and function. */
  readonly #reportedRefusals = new Map<DbNode, string>()
  #stopped = false
  /** When a {@link recheck} last probed every node, and that probe round. */
  #recheckedAt = 0
  #recheck: Promise<void> | undefined

  /** `afterProbe` runs after every probe, passed or failed (the auto failover decides there). */
  constructor(
    nodes: () => readonly DbNode[],
    topology: Topology,
    lag: LagTracker,
    events: EventHub,
    config: ResolvedConfig,
    afterProbe: (node: DbNode) => void,
  ) {
    this.#nodes = nodes
    this.#topology = topology
    this.#lag = lag
    this.#events = events
    this.#config = config
    this.#afterProbe = afterProbe
  }

  /** Whether {@link stop} was called: the cluster is closing. */
  get stopped(): boolean {
    return this.#stopped
  }

  /** Starts probing every node now. */
  start(): void {
    for (const node of this.#nodes()) if (!this.#stopped) void this.probe(node)
  }

  /** Stops probing one node (a removed replica). */
  unwatch(node: DbNode): void {
    clearTimeout(this.#timers.get(node))
    this.#timers.delete(node)
    this.#lastProbe.delete(node)
    this.#reportedRefusals.delete(node)
  }

  /** Probes every node now, and resolves when all have answered or failed. */
  async probeAll(): Promise<void> {
    await Promise.all(this.#nodes().map((node) => this.probe(node)))
  }

  /**
   * Probes every node now, unless a recheck did so within one probe interval: then
   * callers share that round (and wait for it if it runs). For what untrusted
   * input asks for, such as a token of a timeline this process has not seen
   * (another process may have seen a failover first): it must not make a probe storm.
   */
  recheck(): Promise<void> {
    const now = Date.now()
    if (this.#recheck && now - this.#recheckedAt < this.#config.health.intervalMillis) return this.#recheck
    this.#recheckedAt = now
    this.#recheck = this.probeAll()
    return this.#recheck
  }

  /** Probes one node now (coalesced with a probe in flight), then re-arms its timer. */
  probe(node: DbNode): Promise<void> {
    const running = this.#running.get(node)
    if (running) return running
    clearTimeout(this.#timers.get(node))
    this.#lastProbe.set(node, Date.now())
    const promise = this.#probe(node).finally(() => {
      this.#running.delete(node)
      this.#schedule(node)
    })
    this.#running.set(node, promise)
    return promise
  }

  /**
   * Writes want a primary and have none: probe every node now (each at most every
   * {@link WANTED_GAP_MILLIS}, whatever its backoff), the old primary to see it come
   * back, the others to see one promoted by an outside manager. A refused
   * connection costs next to nothing, and a frozen server holds one probe at a time
   * until its timeout. So either is followed within a probe round trip of
   * answering, while an idle app still backs off.
   */
  seekPrimary(): void {
    if (this.#stopped) return
    for (const node of this.#nodes()) this.#probeSoon(node)
  }

  /**
   * A connection-level failure seen by a query or an idle pooled connection. A
   * healthy node is marked suspect at once (no new reads go there) and probed
   * now; from there the probes decide. One crash breaks every pooled connection
   * at the same moment, so these reports never count more than that one failure.
   */
  reportFailure(node: DbNode, error: unknown): void {
    if (this.#stopped) return
    // 53300 "too many connections": the server is alive and answers its probes, it
    // just has no room for another session. Marking it suspect made a replica at
    // max_connections flap suspect/up on every read; the read is retried elsewhere.
    if ((error as { code?: unknown } | null)?.code === '53300') return
    if (node.breaker.state === 'healthy') {
      this.#fail(node, error)
      this.#topology.evaluate()
    }
    // Under load every failed statement reports: one probe at a time, and not back
    // to back, or the probes alone would count the node down within milliseconds.
    this.#probeSoon(node)
  }

  /** Probes `node` now, unless it was probed less than {@link WANTED_GAP_MILLIS} ago. */
  #probeSoon(node: DbNode): void {
    if (Date.now() - (this.#lastProbe.get(node) ?? 0) < WANTED_GAP_MILLIS) return
    if (this.#nodes().includes(node)) void this.probe(node)
  }

  /** Stops every probe timer (the cluster is closing). */
  stop(): void {
    this.#stopped = true
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }

  async #probe(node: DbNode): Promise<void> {
    if (this.#stopped) return
    let result: ProbeResult
    node.probes++
    try {
      result = await probeNode(node)
    } catch (error) {
      if (this.#stopped) return
      if (unresponsive(error)) {
        // Connected (or connecting) but no answer within health.timeoutMillis: a
        // frozen or partitioned server. Its running reads would wait as long as it
        // does; they go elsewhere instead.
        node.abandonReads(
          `${node.name} stopped answering: its health probe got no reply within ${this.#config.health.timeoutMillis} ms`,
        )
      }
      // A refused function is refused on every probe: the node fails them (down,
      // then probed with backoff, never routed to), with the refusal as its reason.
      if (error instanceof CausewayError && error.code === 'FUNCTION_REFUSED') node.probeRefused = error
      this.#fail(node, error)
      this.#reportRefusal(node)
      this.#topology.evaluate()
      this.#afterProbe(node)
      return
    }
    if (this.#stopped) return
    const now = Date.now()
    const previousRole = node.role
    node.observe(result)
    if (previousRole !== node.role && previousRole !== 'unknown') {
      this.#events.emit('role-changed', { node: node.name, from: previousRole, to: node.role })
    }
    node.failingSince = undefined
    node.answeredAt = now
    const transition = node.breaker.success()
    if (transition) {
      node.lastError = undefined
      this.#events.emit('node-up', { node: node.name, role: node.role })
    }
    if (node === this.#topology.lastPrimary && node.role === 'primary' && node.lsn !== undefined)
      this.#lag.record(node.lsn, now)
    if (node.role === 'replica') this.#updateLag(node, now)
    this.#reportRefusal(node)
    this.#topology.evaluate()
    this.#afterProbe(node)
  }

  #fail(node: DbNode, error: unknown): void {
    const message = redact(error instanceof Error ? error.message : String(error))
    node.lastError = message
    node.failures++
    node.failingSince ??= Date.now()
    const transition = node.breaker.failure()
    if (!transition) return
    // A failed connection may mean a restarted server: its cached position is void.
    node.forgetPosition()
    if (transition.to === 'down') this.#events.emit('node-down', { node: node.name, error: message })
    else this.#events.emit('node-suspect', { node: node.name, error: message })
  }

  /**
   * Emits `function-refused` when the node refuses a function it did not refuse
   * at the last report (to a probe, or to a token capture since): once per node
   * and function, not once per probe.
   */
  #reportRefusal(node: DbNode): void {
    const refused = node.refused
    if (!refused) {
      this.#reportedRefusals.delete(node)
      return
    }
    const cause = refusedFunction(refused.cause)
    const key = `${cause?.sqlState}:${cause?.name}`
    if (this.#reportedRefusals.get(node) === key) return
    this.#reportedRefusals.set(node, key)
    this.#events.emit('function-refused', {
      node: node.name,
      function: cause?.name,
      sqlState: cause?.sqlState,
      error: refused.message,
    })
  }

  #updateLag(node: DbNode, now: number): void {
    if (node.lsn === undefined) return
    node.lagBytes = this.#lag.lagBytes(node.lsn, now)
    node.lagMillis = this.#lag.lagMillis(node.lsn, now)
    const bound = this.#config.maxLag
    if (!bound) return
    const over =
      (bound.bytes !== undefined && node.lagBytes > bound.bytes) ||
      (bound.millis !== undefined && node.lagMillis > bound.millis)
    if (over === node.lagging) return
    node.lagging = over
    const payload = { node: node.name, lagBytes: node.lagBytes, lagMillis: node.lagMillis }
    this.#events.emit(over ? 'node-lagging' : 'node-caught-up', payload)
  }

  #schedule(node: DbNode): void {
    if (this.#stopped || !this.#nodes().includes(node)) return
    const timer = setTimeout(() => void this.probe(node), node.breaker.nextProbeDelayMillis())
    timer.unref()
    this.#timers.set(node, timer)
  }
}

/**
 * A probe that timed out (pg's query or connect timeout), rather than one refused
 * or reset, and that had the side connection to itself: one queued behind a
 * promotion or a replay check may have timed out waiting for them.
 */
function unresponsive(error: unknown): boolean {
  const { message, probeQueued } = (error ?? {}) as { message?: unknown; probeQueued?: unknown }
  return (
    probeQueued !== true && /Query read timeout|timeout expired|connection timeout/i.test(String(message))
  )
}
