import { interleavedWorkload } from '../run/interleaved-workload.js'
import type { Operation } from '../run/operation.js'
import { latencyRatioTarget } from '../run/target.js'
import type { Workload } from './workload.js'

/** insert into "bench_writes" ("tag") values ($1) */
export const insertOne: Operation = async (db) => {
  await db.insertInto('bench_writes').values({ tag: 'write-c1' }).execute()
  return { kind: 'write' }
}

/**
 * The cost of token capture (issue 6): single-row inserts at concurrency 1, all on
 * the primary. D has the defaults (process-wide scope, and the default
 * `consistency.capture`, whose captures its `ownStatements` on the primary count).
 * Ds (`consistency.scope: 'session'`) records no token outside a session, so
 * D/Ds is what capture costs the write path and Ds/A the rest of Causeway. Ac
 * is A plus the same capture done as barely as possible: Ac/A is what the extra
 * round trip itself costs on this machine, D/Ac what Causeway's capture adds to it.
 * Twice the rounds of a plain workload: the target is a 5% margin.
 */
export const writeC1Workload: Workload = interleavedWorkload({
  key: 'write-c1',
  title: 'single-row insert at concurrency 1: token capture (D) against none (Ds, A) and a bare one (Ac)',
  concurrency: 1,
  contenders: ['A', 'Ac', 'D', 'Ds'],
  ratios: [
    ['D', 'A'],
    ['Ds', 'A'],
    ['Ac', 'A'],
    ['D', 'Ds'],
    ['D', 'Ac'],
  ],
  operation: insertOne,
  repeatFactor: 2,
  targets: [
    latencyRatioTarget(
      'D/A',
      1.05,
      'write-c1: D/A ≤ 1.05 (Causeway, token capture included, adds at most 5% to the median write)',
    ),
  ],
})
