import { loadavg as osLoadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { causeway } from '../contenders/causeway.js'
import { CounterWindows } from '../run/node-statements.js'
import { ownStatementsTarget } from '../run/target.js'
import { NO_CONTENDERS, type WorkloadResult } from '../run/workload-result.js'
import { round } from '../stats.js'
import type { Workload } from './workload.js'

/** How long the idle dialect sits with no traffic while its statements are counted. */
export const IDLE_MILLIS = 5_000

/** How long it settles first, after its start-up query, so that start-up work is not counted. */
export const IDLE_SETTLE_MILLIS = 1_000

/**
 * Statements Causeway may send each replica per second on its own, per app
 * process, with no traffic at all (issue 9).
 */
export const IDLE_OWN_STATEMENTS_PER_REPLICA = 2

const KEY = 'idle'

/**
 * Causeway's own statements with no traffic: a fresh D (defaults, a dialect of its
 * own on the same cluster) runs one point read to start, settles for 1 s, then sits
 * idle for 5 s while its `ownStatements` per node are counted (health probes, and
 * any capture or poll that would run without demand). Each app process sends its
 * own, so N processes send N times as many.
 *
 * Target: at most 2 per replica per second.
 */
export const idleWorkload: Workload = {
  key: KEY,
  title: 'Causeway (D, defaults) with no traffic: the statements it sends on its own',
  contenders: [],
  needsCauseway: true,
  run: async (context) => {
    if (!context.causeway) throw new Error('the idle workload needs @causeway/kysely loaded')
    const loadStart = round(loadavg(), 2)
    context.log(`${KEY}: a fresh D, ${IDLE_SETTLE_MILLIS / 1000} s to settle, ${IDLE_MILLIS / 1000} s idle`)
    const contender = causeway(context.causeway, context.addresses, 'D')
    const windows = new CounterWindows()
    try {
      await contender.db.selectFrom('bench_items').select('id').where('id', '=', 1).executeTakeFirstOrThrow()
      await sleep(IDLE_SETTLE_MILLIS)
      const start = performance.now()
      const before = contender.counters?.()
      await sleep(IDLE_MILLIS)
      windows.add(before, contender.counters?.(), performance.now() - start)
    } finally {
      await contender.close()
    }
    const nodeStatements = windows.nodeStatements(context.addresses)
    const result: WorkloadResult = {
      key: KEY,
      title: idleWorkload.title,
      concurrency: 0,
      repeats: 1,
      phaseMillis: IDLE_MILLIS,
      ...NO_CONTENDERS,
      loadAverage: { start: loadStart, end: round(loadavg(), 2) },
      targets: [],
      ...(nodeStatements ? { nodeStatements: { D: nodeStatements } } : {}),
      idle: { seconds: IDLE_MILLIS / 1000, settleSeconds: IDLE_SETTLE_MILLIS / 1000 },
    }
    const target = ownStatementsTarget(
      KEY,
      'D',
      IDLE_OWN_STATEMENTS_PER_REPLICA,
      `idle: ≤ ${IDLE_OWN_STATEMENTS_PER_REPLICA} own statements per replica per second (D, one process)`,
    )
    return { ...result, targets: [target(result)] }
  },
}

function loadavg(): number {
  return osLoadavg()[0] ?? 0
}
