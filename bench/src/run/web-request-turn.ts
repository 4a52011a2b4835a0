import { type BenchSession, inSession } from '../contenders/contender.js'
import { Samples } from '../stats.js'
import { pointRead, randomId } from '../workloads/operations.js'
import type { TurnRunner } from './interleaved-workload.js'
import { type PhaseResult, workerSeed, xorshift } from './measure-phase.js'

/** Sessions get distinct tags across turns and contenders. */
let turnSerial = 0

/** Requests whose write is an insert into `bench_writes`; the others update a `bench_items` row. */
export const WEB_INSERT_SHARE = 0.5

/** Reads per request after its write: the written row back, then point reads of random items. */
export const WEB_READS_PER_REQUEST = 3

/** What a request's write left behind: how to read it back, and whether that read saw it. */
interface Written {
  /** Reads the written row back; resolves to the answering server's port, and whether the read saw the write. */
  readBack(session: BenchSession): Promise<{ port: number; fresh: boolean }>
}

/**
 * A web-server turn: `concurrency` workers, each a closed loop of requests. Each
 * request runs in a session of its own (Causeway: `cluster.session()`; R: a fresh
 * last-write time; A and B: none) and does one write, then three reads:
 *
 * - the write is, half the time, `insert into "bench_writes" ("tag") values ($1) returning "id"`,
 *   else `update "bench_items" set "qty" = "qty" + 1, "updated_at" = now() where "id" = $1 returning "qty"`;
 * - the first read reads the written row back, with the answering server's port:
 *   `select inet_server_port() as "port", (select "tag" from "bench_writes" where "id" = $1) as "tag"`
 *   (or `… (select "qty" from "bench_items" where "id" = $1) as "qty"`). It is stale when the
 *   tag is not the one written, or the quantity is below the one the update returned (updates only
 *   add 1, so any state before the update has a smaller one);
 * - two point reads of random `bench_items` rows.
 *
 * The whole request is timed (`latencies`), and each read and the write apart.
 */
export function webRequestTurn(): TurnRunner {
  return async (contender, options) => {
    const turn = ++turnSerial
    const requests = new Samples()
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

    const read = async (query: () => Promise<number>) => {
      const start = performance.now()
      const port = await query()
      reads.push((performance.now() - start) * 1000)
      readCount++
      if (port !== options.primaryPort) replicaReads++
    }
    const request = async (session: BenchSession, random: () => number, tag: string) => {
      const writeStart = performance.now()
      const written =
        random() < WEB_INSERT_SHARE ? await insertRow(session, tag) : await updateItem(session, random)
      session.wrote()
      writes.push((performance.now() - writeStart) * 1000)
      await read(async () => {
        const { port, fresh } = await written.readBack(session)
        if (!fresh) staleReads++
        return port
      })
      for (let i = 1; i < WEB_READS_PER_REQUEST; i++) {
        await read(async () => {
          const outcome = await pointRead(session.reader(), random)
          return outcome.kind === 'read' ? outcome.port : options.primaryPort
        })
      }
    }
    const worker = async (worker: number) => {
      const random = xorshift(workerSeed(worker))
      for (let seq = 1; performance.now() < deadline; seq++) {
        const start = performance.now()
        try {
          await inSession(contender, (session) =>
            request(session, random, `web.${contender.key}.${turn}.${worker}.${seq}`),
          )
          requests.push((performance.now() - start) * 1000)
        } catch (error) {
          errors++
          firstError ??= (error as Error).message
        }
      }
    }
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)))
    const elapsedMillis = performance.now() - started
    const { user, system } = process.cpuUsage(cpu)
    const result: PhaseResult = {
      latencies: requests,
      elapsedMillis,
      reads: readCount,
      replicaReads,
      errors,
      firstError,
      cpuMicros: user + system,
      writeLatencies: writes,
      readLatencies: reads,
      staleReads,
    }
    return result
  }
}

async function insertRow(session: BenchSession, tag: string): Promise<Written> {
  const { id } = await session.writer
    .insertInto('bench_writes')
    .values({ tag })
    .returning('id')
    .executeTakeFirstOrThrow()
  return {
    readBack: async (s) => {
      const row = await s
        .reader()
        .selectNoFrom((eb) => [
          eb.fn<number>('inet_server_port').as('port'),
          eb.selectFrom('bench_writes').select('tag').where('id', '=', id).as('tag'),
        ])
        .executeTakeFirstOrThrow()
      return { port: row.port, fresh: row.tag === tag }
    },
  }
}

async function updateItem(session: BenchSession, random: () => number): Promise<Written> {
  const id = randomId(random)
  const { qty } = await session.writer
    .updateTable('bench_items')
    .set((eb) => ({ qty: eb('qty', '+', 1), updated_at: eb.fn<Date>('now') }))
    .where('id', '=', id)
    .returning('qty')
    .executeTakeFirstOrThrow()
  return {
    readBack: async (s) => {
      const row = await s
        .reader()
        .selectNoFrom((eb) => [
          eb.fn<number>('inet_server_port').as('port'),
          eb.selectFrom('bench_items').select('qty').where('id', '=', id).as('qty'),
        ])
        .executeTakeFirstOrThrow()
      return { port: row.port, fresh: row.qty !== null && row.qty >= qty }
    },
  }
}
