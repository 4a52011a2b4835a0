import type { Kysely } from 'kysely'
import type { BenchDatabase } from '../schema.js'
import { Samples } from '../stats.js'
import type { Operation } from './operation.js'

/** One contender's turn: every latency, and who served the reads. */
export interface PhaseResult {
  /** Latency of every completed operation, in µs. */
  readonly latencies: Samples
  readonly elapsedMillis: number
  readonly reads: number
  /** Reads whose `inet_server_port()` was not the primary's. */
  readonly replicaReads: number
  readonly errors: number
  readonly firstError: string | undefined
  /** CPU time (user + system) the bench process spent in the turn, in µs: the client's side of the cost. */
  readonly cpuMicros: number
  /** Read-your-writes turns: `latencies` are the reads, and these the writes before them, in µs. */
  readonly writeLatencies?: Samples
  /** Web requests: `latencies` are the whole requests, and these every read within them, in µs. */
  readonly readLatencies?: Samples
  /** Read-your-writes turns: reads that did not see the session's own write. */
  readonly staleReads?: number
}

/** How long and how wide one turn runs. */
export interface PhaseOptions {
  readonly concurrency: number
  readonly durationMillis: number
  readonly primaryPort: number
}

/**
 * Runs `operation` from `concurrency` workers in a closed loop (each sends its next
 * operation when the last returns) until the time is up, timing each one.
 */
export async function measurePhase(
  db: Kysely<BenchDatabase>,
  operation: Operation,
  options: PhaseOptions,
): Promise<PhaseResult> {
  const latencies = new Samples()
  let reads = 0
  let replicaReads = 0
  let errors = 0
  let firstError: string | undefined
  const cpu = process.cpuUsage()
  const started = performance.now()
  const deadline = started + options.durationMillis
  const worker = async (seed: number) => {
    const random = xorshift(seed)
    for (let now = performance.now(); now < deadline; ) {
      try {
        const outcome = await operation(db, random)
        const done = performance.now()
        latencies.push((done - now) * 1000)
        now = done
        if (outcome.kind === 'read') {
          reads++
          if (outcome.port !== options.primaryPort) replicaReads++
        }
      } catch (error) {
        errors++
        firstError ??= (error as Error).message
        now = performance.now()
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(workerSeed(i))))
  const elapsedMillis = performance.now() - started
  const { user, system } = process.cpuUsage(cpu)
  return { latencies, elapsedMillis, reads, replicaReads, errors, firstError, cpuMicros: user + system }
}

/** Worker `i`'s seed: worker i draws the same keys whichever contender it runs for. */
export function workerSeed(i: number): number {
  return 0x9e3779b9 ^ ((i + 1) * 2654435761)
}

/** A small, fast, seeded PRNG in [0, 1): the same key sequence for every contender. */
export function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 4294967296
  }
}
