import type { Balancer, Candidate } from '../../model/balancer.js'
import { smoothWeighted } from './least-busy.js'

/** Every replica in turn, in proportion to its weight (smooth weighted round-robin). */
export class RoundRobinBalancer implements Balancer {
  readonly #credit = new Map<string, number>()

  pick(candidates: readonly Candidate[]): number {
    return smoothWeighted(candidates, this.#credit)
  }
}
