import { CausewayError, closedError } from '../errors/causeway-error.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import type { HealthMonitor } from './health-monitor.js'

/**
 * How a statement that must run on the primary finds it. During a failover it
 * waits up to `writeWaitMillis` for one, and meanwhile has every node probed
 * (the old primary to see it come back, the others to see one promoted by an
 * outside manager), so that the wait ends within a probe round trip of a primary
 * answering.
 */
export class PrimaryFinder {
  readonly #topology: Topology
  readonly #monitor: HealthMonitor
  readonly #writeWaitMillis: number

  constructor(topology: Topology, monitor: HealthMonitor, writeWaitMillis: number) {
    this.#topology = topology
    this.#monitor = monitor
    this.#writeWaitMillis = writeWaitMillis
  }

  /**
   * The primary, waiting for one during a failover; throws `NO_PRIMARY` when none
   * comes in time, `CLOSED` when the cluster closes. `avoid` is a primary that just
   * failed to connect: it counts again only once healthy.
   */
  async primary(avoid?: DbNode): Promise<DbNode> {
    const topology = this.#topology
    const usable = () => {
      const primary = topology.primary
      return primary && (primary !== avoid || primary.breaker.state === 'healthy') ? primary : undefined
    }
    const deadline = Date.now() + this.#writeWaitMillis
    let primary = usable()
    while (!primary && !this.#monitor.stopped && Date.now() < deadline) {
      // A write wants a primary: look for one now (the old one back, or another
      // promoted), not at the next scheduled probe. Not while a failover decides.
      if (!topology.demoting) this.#monitor.seekPrimary()
      await topology.nextEvaluation(Math.min(deadline - Date.now(), 25))
      primary = usable()
    }
    if (primary) return primary
    if (this.#monitor.stopped) throw closedError()
    if (!topology.demoting) this.#monitor.seekPrimary()
    const last = topology.lastPrimary
    throw new CausewayError(
      'NO_PRIMARY',
      `no primary is available${last ? ` (${last.name} is ${last.state}${last.lastError ? `: ${last.lastError}` : ''})` : ''}` +
        (this.#writeWaitMillis > 0 ? `; waited ${this.#writeWaitMillis} ms` : ''),
      { node: last?.name },
    )
  }
}
