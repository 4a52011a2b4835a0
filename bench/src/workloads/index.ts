import { mixedWorkload } from './mixed.js'
import { overheadWorkload } from './overhead.js'
import { pointReadWorkload } from './point-read.js'
import type { Workload } from './workload.js'

/**
 * Every workload, in the order they run. The read-your-writes and failover
 * workloads join this list as files of their own.
 */
export const WORKLOADS: readonly Workload[] = [
  pointReadWorkload(1),
  pointReadWorkload(16),
  mixedWorkload,
  overheadWorkload,
]
