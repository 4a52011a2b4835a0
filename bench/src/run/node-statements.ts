import type { ClusterAddresses } from '../cluster-urls.js'
import { round } from '../stats.js'
import type { NodeStatements } from './workload-result.js'

/**
 * The counter keys a Causeway contender reports per node (`<key>.<node name>`),
 * from `cluster.status().nodes[*]`.
 */
export const NODE_STATEMENT_COUNTERS = ['ownStatements', 'freshnessChecks', 'freshnessMisses'] as const

/**
 * Counter differences summed over several windows (a contender's turns), and the
 * summed length of those windows: what a per-second rate needs when the contender
 * sits idle between its turns while the others run theirs.
 */
export class CounterWindows {
  #sums = new Map<string, number>()
  #millis = 0

  /** Adds one window: the counters at its start and end, and its length. */
  add(
    before: Readonly<Record<string, number>> | undefined,
    after: Readonly<Record<string, number>> | undefined,
    millis: number,
  ): void {
    if (!after) return
    this.#millis += millis
    for (const [key, value] of Object.entries(after)) {
      this.#sums.set(key, (this.#sums.get(key) ?? 0) + value - (before?.[key] ?? 0))
    }
  }

  /** Per node, the statement counters over every window and their rate per second; undefined without any. */
  nodeStatements(addresses: ClusterAddresses): NodeStatements[] | undefined {
    const seconds = this.#millis / 1000
    const prefix = `${NODE_STATEMENT_COUNTERS[0]}.`
    const nodes = [...this.#sums.keys()]
      .filter((key) => key.startsWith(prefix))
      .map((key) => key.slice(prefix.length))
    if (nodes.length === 0 || seconds === 0) return undefined
    return nodes.map((node) => {
      const count = (counter: (typeof NODE_STATEMENT_COUNTERS)[number]) =>
        this.#sums.get(`${counter}.${node}`) ?? 0
      const ownStatements = count('ownStatements')
      const freshnessChecks = count('freshnessChecks')
      const freshnessMisses = count('freshnessMisses')
      return {
        node,
        role: node === addresses.primary.name ? 'primary' : 'replica',
        seconds: round(seconds, 3),
        ownStatements,
        freshnessChecks,
        freshnessMisses,
        ownStatementsPerSecond: round(ownStatements / seconds, 2),
        freshnessChecksPerSecond: round(freshnessChecks / seconds, 1),
        freshnessMissesPerSecond: round(freshnessMisses / seconds, 2),
      }
    })
  }
}
