import { setTimeout as sleep } from 'node:timers/promises'
import { type BenchSession, inSession } from '../contenders/contender.js'
import { Samples } from '../stats.js'
import type { TurnRunner } from './interleaved-workload.js'
import type { PhaseResult } from './measure-phase.js'

/** Sessions get distinct tags across turns and contenders. */
let turnSerial = 0

/**
 * A read-your-writes turn: `concurrency` workers, each one session of the
 * contender for the whole turn, each looping: insert a row (`returning id`), wait
 * `thinkMillis` (none at 0: the read is sent as soon as the write returns), read
 * that row back by id. The write and the read are timed apart, the think time not
 * at all. A read that finds no row, or another row, is stale.
 *
 * The read always returns one row, so that a stale read still says which server
 * answered it:
 *
 * select inet_server_port() as "port", (select "tag" from "bench_writes" where "id" = $1) as "tag"
 */
export function rywTurn(thinkMillis: number): TurnRunner {
  return async (contender, options) => {
    const turn = ++turnSerial
    const reads = new Samples()
    const writes = new Samples()
    let readCount = 0
    let replicaReads = 0
    let staleReads = 0
    let errors = 0
    let firstError: string | undefined
    const cpu = process.cpuUsage()
    const started = performance.now()
    const deadline = started + options.durationMillis

    const loop = async (session: BenchSession, worker: number) => {
      for (let seq = 1; performance.now() < deadline; seq++) {
        const tag = `${contender.key}.${turn}.${worker}.${seq}`
        try {
          const writeStart = performance.now()
          const { id } = await session.writer
            .insertInto('bench_writes')
            .values({ tag })
            .returning('id')
            .executeTakeFirstOrThrow()
          session.wrote()
          writes.push((performance.now() - writeStart) * 1000)
          if (thinkMillis > 0) await sleep(thinkMillis)
          const readStart = performance.now()
          const row = await session
            .reader()
            .selectNoFrom((eb) => [
              eb.fn<number>('inet_server_port').as('port'),
              eb.selectFrom('bench_writes').select('tag').where('id', '=', id).as('tag'),
            ])
            .executeTakeFirstOrThrow()
          reads.push((performance.now() - readStart) * 1000)
          readCount++
          if (row.port !== options.primaryPort) replicaReads++
          if (row.tag !== tag) staleReads++
        } catch (error) {
          errors++
          firstError ??= (error as Error).message
        }
      }
    }
    await Promise.all(
      Array.from({ length: options.concurrency }, (_, worker) =>
        inSession(contender, (session) => loop(session, worker)),
      ),
    )
    const elapsedMillis = performance.now() - started
    const { user, system } = process.cpuUsage(cpu)
    const result: PhaseResult = {
      latencies: reads,
      elapsedMillis,
      reads: readCount,
      replicaReads,
      errors,
      firstError,
      cpuMicros: user + system,
      writeLatencies: writes,
      staleReads,
    }
    return result
  }
}
