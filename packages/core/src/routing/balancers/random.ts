import type { Balancer, Candidate } from '../../model/balancer.js'

/** A replica at random, with probability proportional to its weight. */
export class RandomBalancer implements Balancer {
  readonly #random: () => number

  constructor(random: () => number = Math.random) {
    this.#random = random
  }

  pick(candidates: readonly Candidate[]): number {
    let total = 0
    for (const c of candidates) total += c.weight
    let point = this.#random() * total
    for (let i = 0; i < candidates.length; i++) {
      point -= candidates[i]!.weight
      if (point < 0) return i
    }
    return candidates.length - 1
  }
}
