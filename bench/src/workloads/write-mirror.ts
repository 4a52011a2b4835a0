import { interleavedWorkload } from '../run/interleaved-workload.js'
import { latencyRatioTarget } from '../run/target.js'
import type { Workload } from './workload.js'
import { insertOne } from './write-c1.js'

/**
 * What statement mirroring costs the primary's write path (issue 13): write-c1's
 * single-row inserts at concurrency 1, by Causeway with its defaults (D), with an
 * async in-memory mirror on an independent server (Dm), and with a durable one (Dd:
 * each insert becomes a transaction with its outbox row and the advisory lock), and
 * with an in-memory mirror that never replays (Dp). Dm/D is the in-memory cost
 * (target ≤ 1.05), split into Dp/D (reading each write's commit position, and the
 * ordering) and Dm/Dp (the replay beside the write, on the same machine); Da/D is
 * the in-memory cost in `order: 'acknowledgement'` (no positions), Dd/D the durable
 * cost (both reported).
 */
export const writeMirrorC1Workload: Workload = interleavedWorkload({
  key: 'write-mirror-c1',
  title:
    'single-row insert at concurrency 1: with an async statement mirror (Dm), a durable one (Dd), none (D)',
  concurrency: 1,
  contenders: ['D', 'Dp', 'Dm', 'Da', 'Dd'],
  ratios: [
    ['Dm', 'D'],
    ['Dp', 'D'],
    ['Dm', 'Dp'],
    ['Da', 'D'],
    ['Dd', 'D'],
  ],
  operation: insertOne,
  repeatFactor: 2,
  targets: [
    latencyRatioTarget(
      'Dm/D',
      1.05,
      'write-mirror-c1: Dm/D ≤ 1.05 (an async in-memory statement mirror adds at most 5% to the median write)',
    ),
  ],
})
