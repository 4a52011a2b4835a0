import { interleavedWorkload } from '../run/interleaved-workload.js'
import { latencyRatioTarget } from '../run/target.js'
import { pointRead } from './operations.js'
import { READ_RATIOS, type Workload } from './workload.js'

/**
 * Point reads at a given concurrency, by A, B, C and D. Targets: D no slower than
 * kysely-replication on the same replicas, and faster than pgpool-II.
 */
export function pointReadWorkload(concurrency: number): Workload {
  const key = `point-read-c${concurrency}`
  return interleavedWorkload({
    key,
    title: `point select by primary key, concurrency ${concurrency}`,
    concurrency,
    contenders: ['A', 'B', 'C', 'D'],
    ratios: READ_RATIOS,
    operation: pointRead,
    targets: [
      latencyRatioTarget('D/B', 1, `${key}: D/B ≤ 1.00 (no slower than kysely-replication)`),
      latencyRatioTarget('D/C', 1, `${key}: D faster than pgpool-II`, true),
    ],
  })
}
