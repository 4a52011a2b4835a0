import { RAILS_DELAY_MILLIS } from '../contenders/rails-policy.js'
import { interleavedWorkload } from '../run/interleaved-workload.js'
import { noStaleReadsTarget } from '../run/target.js'
import { webRequestTurn } from '../run/web-request-turn.js'
import type { Workload } from './workload.js'

/** Workers serving requests, each one request at a time. */
export const WEB_WORKERS = 16

/**
 * Shaped like a web server (issue 9): 16 workers in a closed loop of requests, each
 * request in a session of its own, doing one write (an insert, or an update of an
 * item) and then three reads (the written row back, two point reads of items). A
 * reads the primary, B the replicas whatever they have, R the primary (every
 * request wrote less than 2 s before its reads), D replicas that have the request's
 * write. Latency ratios are of whole requests; the reads are also compared apart.
 *
 * Target: D has 0 stale reads (every read-back sees the request's write).
 */
export const webWorkload: Workload = interleavedWorkload({
  key: 'web-c16',
  title:
    `web requests: ${WEB_WORKERS} workers, each request one session: one write (insert, or update of an item), ` +
    `then 3 reads (the written row back, 2 point reads) (R: primary for ${RAILS_DELAY_MILLIS / 1000} s after a write)`,
  concurrency: WEB_WORKERS,
  contenders: ['A', 'B', 'R', 'D'],
  ratios: [
    ['B', 'A'],
    ['R', 'A'],
    ['D', 'A'],
    ['D', 'B'],
    ['D', 'R'],
  ],
  turn: webRequestTurn(),
  targets: [noStaleReadsTarget('web-c16', 'D')],
})
