import { failoverWorkload } from './failover.js'
import { mixedWorkload } from './mixed.js'
import { overheadWorkload } from './overhead.js'
import { pointReadWorkload } from './point-read.js'
import { readYourWritesWorkload } from './read-your-writes.js'
import type { Workload } from './workload.js'
import { writeC1Workload } from './write-c1.js'

/**
 * Every workload, in the order they run. Read-your-writes runs with no think time
 * (below the ~0.3 ms replication delay) and with 5 ms (above its p99); the failover
 * workloads, each on clusters of their own, come last.
 */
export const WORKLOADS: readonly Workload[] = [
  pointReadWorkload(1),
  pointReadWorkload(16),
  mixedWorkload,
  overheadWorkload,
  readYourWritesWorkload(0, false),
  readYourWritesWorkload(5, true),
  writeC1Workload,
  failoverWorkload('follow'),
  failoverWorkload('auto'),
]
