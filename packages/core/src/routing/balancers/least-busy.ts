import type { Balancer, Candidate } from '../../model/balancer.js'

/**
 * Fewest queries in flight per unit of weight. Ties, which are the rule under a
 * sequential load (everything is at 0), are broken in rotation, so that load still
 * spreads; weights then act through a smooth weighted rotation.
 */
export class LeastBusyBalancer implements Balancer {
  readonly #rotation = new Map<string, number>()

  pick(candidates: readonly Candidate[]): number {
    let best = Number.POSITIVE_INFINITY
    let tied = 0
    for (const c of candidates) {
      const load = c.inFlight / c.weight
      if (load < best) {
        best = load
        tied = 1
      } else if (load === best) tied++
    }
    if (tied === 1) return candidates.findIndex((c) => c.inFlight / c.weight === best)
    return smoothWeighted(candidates, this.#rotation, (c) => c.inFlight / c.weight === best)
  }
}

/**
 * Smooth weighted round-robin (as in nginx): every candidate gains its weight, the
 * richest is chosen and pays the total. Deterministic, and interleaves (a, b, a, b…)
 * rather than bunching.
 */
export function smoothWeighted(
  candidates: readonly Candidate[],
  credit: Map<string, number>,
  allowed: (candidate: Candidate) => boolean = () => true,
): number {
  let total = 0
  let chosen = -1
  let richest = Number.NEGATIVE_INFINITY
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!
    if (!allowed(c)) continue
    const next = (credit.get(c.name) ?? 0) + c.weight
    credit.set(c.name, next)
    total += c.weight
    if (next > richest) {
      richest = next
      chosen = i
    }
  }
  const winner = candidates[chosen]!
  credit.set(winner.name, richest - total)
  return chosen
}
