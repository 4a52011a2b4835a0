import { failoverWorkload } from './failover.js'
import { failoverPatroniWorkload } from './failover-patroni.js'
import { idleWorkload } from './idle.js'
import { mixedWorkload } from './mixed.js'
import { multiPrimaryWorkload } from './multi-primary.js'
import { overheadWorkload } from './overhead.js'
import { pointReadWorkload } from './point-read.js'
import { readYourWritesWorkload } from './read-your-writes.js'
import { webWorkload } from './web.js'
import type { Workload } from './workload.js'
import { writeC1Workload } from './write-c1.js'
import { writeMirrorC1Workload } from './write-mirror.js'

/**
 * Every workload, in the order they run. `idle` comes first, on a quiet cluster.
 * Read-your-writes runs with no think time (below the ~0.3 ms replication delay)
 * and with 5 ms (above its p99), each with issue 9's bounds; the failover
 * workloads, each on clusters of their own (Patroni's last), come last.
 */
export const WORKLOADS: readonly Workload[] = [
  idleWorkload,
  pointReadWorkload(1),
  pointReadWorkload(16),
  mixedWorkload,
  overheadWorkload,
  readYourWritesWorkload(0, { p50: 1.3 }),
  readYourWritesWorkload(5, { p50: 1.25, p99: 1.5, throughput: 0.9, replicaShare: 0.99 }),
  webWorkload,
  writeC1Workload,
  writeMirrorC1Workload,
  multiPrimaryWorkload,
  failoverWorkload('follow'),
  failoverWorkload('auto'),
  failoverPatroniWorkload,
]
