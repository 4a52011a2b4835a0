import { interleavedWorkload } from '../run/interleaved-workload.js'
import { latencyRatioTarget, throughputRatioTarget } from '../run/target.js'
import { mix } from './operations.js'
import { READ_RATIOS, type Workload } from './workload.js'

/**
 * 90% point reads, 10% single-row updates, at concurrency 16. Causeway keeps its
 * default process-wide read-your-writes here: each read must see every earlier
 * write of the process, so it goes to a replica only once that replica has
 * replayed the latest write (checked, or waited for briefly), else to the primary.
 * B and C read whatever the replica has.
 *
 * Targets (issue 9): D/B latency ≤ 1.10 and throughput ≥ 0.9× B; D faster than pgpool-II.
 */
export const mixedWorkload: Workload = interleavedWorkload({
  key: 'mixed-c16',
  title: '90% point reads, 10% single-row updates, concurrency 16',
  concurrency: 16,
  contenders: ['A', 'B', 'C', 'D'],
  ratios: READ_RATIOS,
  operation: mix(0.1),
  targets: [
    latencyRatioTarget('D/B', 1.1, 'mixed-c16: D/B latency ≤ 1.10'),
    throughputRatioTarget('D/B', 0.9, 'mixed-c16: throughput ≥ 0.9× B'),
    latencyRatioTarget('D/C', 1, 'mixed-c16: D faster than pgpool-II', true),
  ],
})
