import type { ResolvedSync } from '../config/config-schema.js'
import type { CapturePacer } from '../consistency/capture-pacer.js'
import type { ConsistencyScope, Recovery } from '../consistency/consistency-scope.js'
import { formatLsn } from '../consistency/lsn.js'
import type { ReadDemand } from '../consistency/read-demand.js'
import type { ConsistencyToken } from '../consistency/token.js'
import { MirrorTimeoutError, WriteOutcomeUnknownError } from '../errors/causeway-error.js'
import type { Counters } from '../events/counters.js'
import type { EventHub } from '../events/event-hub.js'
import type { DbNode } from '../topology/db-node.js'
import type { ReplayWaiter } from '../topology/replay-waiter.js'
import type { Topology } from '../topology/topology.js'
import { errorCodeOf, type ReplayWaitTraceContext, replayWaitChannel } from '../tracing/trace-channels.js'
import { redact } from '../util/redact.js'
import { mirror } from './mirror.js'

/** What a {@link WriteCapture} works with. */
export interface WriteCaptureParts {
  readonly topology: Topology
  readonly waiter: ReplayWaiter
  readonly events: EventHub
  readonly counters: Counters
  /** `consistency.capture`: at once in the background, or when the scope next needs its token. */
  readonly capture: 'lazy' | 'eager'
  /** Captures eager tokens, paced. */
  readonly pacer: CapturePacer
  /** Eager capture runs only while reads want tokens. */
  readonly demand: ReadDemand
  /** The cluster's `sync` setting, which a session may override. */
  readonly sync: ResolvedSync | undefined
  /** Every node but the primary. */
  readonly replicas: () => readonly DbNode[]
}

/**
 * What follows a write the primary acknowledged: its token is captured into the
 * scope (never on the write's own path, unless mirroring needs it), the write is
 * mirrored when asked, and a write acknowledged by a primary that a failover was
 * replacing is confirmed or reported as of unknown outcome.
 */
export class WriteCapture {
  readonly #topology: Topology
  readonly #waiter: ReplayWaiter
  readonly #events: EventHub
  readonly #counters: Counters
  readonly #eager: boolean
  readonly #pacer: CapturePacer
  readonly #demand: ReadDemand
  readonly #sync: ResolvedSync | undefined
  readonly #replicas: () => readonly DbNode[]

  constructor(parts: WriteCaptureParts) {
    this.#topology = parts.topology
    this.#waiter = parts.waiter
    this.#events = parts.events
    this.#counters = parts.counters
    this.#eager = parts.capture === 'eager'
    this.#pacer = parts.pacer
    this.#demand = parts.demand
    this.#sync = parts.sync
    this.#replicas = parts.replicas
  }

  /**
   * After a statement on the primary `node`: capture its token (in the background)
   * and, for a write, mirror it when asked. `mirrored` is false for forced-primary
   * reads, captured only because they may call functions that write. Returns the
   * mirroring to wait for, or undefined when there is none.
   */
  afterWrite(node: DbNode, scope: ConsistencyScope | undefined, mirrored = true): Promise<void> | undefined {
    const sync = mirrored ? this.#syncFor(scope) : undefined
    if (sync) {
      // Mirroring needs this write's position now.
      const capture = node.sampler.sample()
      if (scope) void scope.capture(capture)
      // Observed below; the scope handles its own failure.
      capture.catch(() => {})
      if (!replayWaitChannel.hasSubscribers) return this.#mirror(sync, capture, undefined)
      const trace: ReplayWaitTraceContext = {
        node: node.name,
        role: node.role,
        required: sync.replicas,
        timeoutMillis: sync.timeoutMillis,
        onTimeout: sync.onTimeout,
      }
      return replayWaitChannel.tracePromise(
        () =>
          this.#mirror(sync, capture, trace).catch((error: unknown) => {
            trace.errorCode = errorCodeOf(error)
            if (error instanceof MirrorTimeoutError) {
              trace.mirrored = error.mirrored
              trace.timedOut = true
            }
            throw error
          }),
        trace,
      )
    }
    if (scope) {
      scope.captureLater(node.sampler)
      if (this.#eager && this.#demand.recent()) this.#pacer.schedule(scope)
    }
    // Nothing to wait for: not a promise, so that a write costs no extra hop.
    return undefined
  }

  /**
   * A write `node` acknowledged while a failover was deciding whether to replace
   * it, or after it was replaced: it counts only if `node` is still the primary
   * once the failover has decided. Otherwise it committed on a timeline the new
   * primary does not continue, so the app must not take it as done.
   */
  async confirmAcknowledged(node: DbNode, scope: ConsistencyScope | undefined): Promise<void> {
    const topology = this.#topology
    await topology.demotionSettled()
    if (topology.mayAcknowledge(node)) return
    scope?.markUncertain(this.recovery(node, undefined))
    const now = topology.lastPrimary
    throw new WriteOutcomeUnknownError(
      `${node.name} acknowledged the write, but it is no longer the primary` +
        `${now && now !== node ? ` (${now.name} is)` : ''}: the write may be missing from the current primary, ` +
        'and it was not retried',
      { node: node.name },
    )
  }

  /**
   * How a scope leaves "reads on the primary" after a write of unknown outcome sent
   * to `node`'s server process `pid`: a token taken on the primary once that
   * process is gone (so the write can no longer commit), or undefined until then.
   */
  recovery(node: DbNode | undefined, pid: number | undefined): Recovery {
    return async () => {
      const primary = this.#topology.primary
      if (!primary) return undefined
      if (primary === node && pid !== undefined) {
        // The write's session may still be running its statement (a broken network
        // is noticed there only when it next sends): while it is, it may yet commit.
        // An idle one, even in a transaction, will never get the COMMIT it needs.
        const alive = await primary.captures.run(
          `select 1 from pg_stat_activity where pid = $1 and state in ('active', 'fastpath function call')`,
          [pid],
        )
        if (alive.length > 0) return undefined
      }
      return primary.sampler.sample()
    }
  }

  /** The client-side mirroring that applies to a scope's writes, if any. */
  #syncFor(scope: ConsistencyScope | undefined): ResolvedSync | undefined {
    const sync = scope?.syncOff ? undefined : (scope?.sync ?? this.#sync)
    return sync && sync.method === 'client' ? sync : undefined
  }

  /** Mirrors a write; `trace`, when the wait is traced, learns its position and outcome. */
  async #mirror(
    sync: ResolvedSync,
    capture: Promise<ConsistencyToken>,
    trace: ReplayWaitTraceContext | undefined,
  ): Promise<void> {
    this.#counters.mirrorWaits++
    let token: ConsistencyToken
    try {
      // This write's own capture: the scope's token could be older if it failed.
      token = await capture
      if (trace) trace.lsn = formatLsn(token.lsn)
    } catch (error) {
      this.#counters.mirrorTimeouts++
      throw new MirrorTimeoutError(
        `the write committed on the primary, but its position could not be read to confirm mirroring: ${redact(String((error as Error).message))}`,
        [],
        sync.replicas === 'all' ? this.#replicas().length : sync.replicas,
      )
    }
    const result = await mirror(token, this.#replicas(), sync, this.#waiter, this.#events).catch((error) => {
      this.#counters.mirrorTimeouts++
      throw error
    })
    if (result.timedOut) this.#counters.mirrorTimeouts++
    if (trace) {
      trace.mirrored = result.mirrored
      trace.timedOut = result.timedOut
    }
  }
}
