import { interleavedWorkload } from '../run/interleaved-workload.js'
import { latencyRatioTarget } from '../run/target.js'
import { pointRead } from './operations.js'
import type { Workload } from './workload.js'

/**
 * Causeway's own per-query cost: point reads at concurrency 1, with every query on
 * the primary for both A (plain Kysely) and D0 (Causeway with `replicas: []`), so
 * that the only difference is the code in between. More rounds than the others: the
 * target is a 3% margin.
 */
export const overheadWorkload: Workload = interleavedWorkload({
  key: 'overhead-c1',
  title: 'point select at concurrency 1, all on the primary: Causeway (D0) against plain Kysely (A)',
  concurrency: 1,
  contenders: ['A', 'D0'],
  ratios: [['D0', 'A']],
  operation: pointRead,
  repeatFactor: 2,
  targets: [latencyRatioTarget('D0/A', 1.03, 'overhead-c1: D0/A ≤ 1.03 (Causeway per-query overhead ≤ 3%)')],
})
