import type { Balancer, Candidate } from '../../model/balancer.js'
import { smoothWeighted } from './least-busy.js'

/**
 * The lowest latency EWMA, divided by weight. Replicas within 10% of the best count
 * as tied and share the load in rotation: a hair's difference in latency should not
 * send every query to one node, which would then be the slow one.
 */
export class FastestBalancer implements Balancer {
  readonly #rotation = new Map<string, number>()

  pick(candidates: readonly Candidate[]): number {
    let best = Number.POSITIVE_INFINITY
    for (const c of candidates) best = Math.min(best, c.latencyMillis / c.weight)
    const bound = best * 1.1
    return smoothWeighted(candidates, this.#rotation, (c) => c.latencyMillis / c.weight <= bound)
  }
}
