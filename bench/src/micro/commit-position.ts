// Microbench of what reading a write's commit position costs (statement mirrors in
// commit order), with raw pg clients on one primary, at concurrency 1:
//   a  client.query single-row insert (the baseline)
//   b  the same insert as a one-step pipelined flight (the flight machinery alone)
//   c  positionedWrite: the insert, then the named position read, one Sync
// Turns are interleaved and their order rotates by round; each ratio is taken
// within a round, as in the main bench. Client CPU per write is process.cpuUsage()
// over the turn.
//
//   pnpm --filter @causeway/bench micro:commit-position [-- --rounds 20 --millis 500 --replicas 0]
import { parseArgs } from 'node:util'
import { startCluster } from '@causeway/testing'
import pg from 'pg'
import { positionedWrite } from '../../../packages/core/src/connection/commit-position.js'
import { pipelinedQueries } from '../../../packages/core/src/driver/pipelined-queries.js'
import { median } from '../stats.js'

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'), // pnpm passes its '--' on
  options: {
    rounds: { type: 'string', default: '20' },
    millis: { type: 'string', default: '500' },
    replicas: { type: 'string', default: '0' },
  },
})
const ROUNDS = Number(args.rounds)
const TURN_MILLIS = Number(args.millis)
const INSERT = 'insert into micro_writes (tag) values ($1)'

type Variant = (client: pg.Client) => Promise<unknown>
const variants: Record<string, Variant> = {
  a: (client) => client.query(INSERT, ['x']),
  b: (client) => pipelinedQueries(client, [{ sql: INSERT, values: ['x'] }]),
  c: (client) => positionedWrite(client, INSERT, ['x']),
}
const labels: Record<string, string> = {
  a: 'client.query insert',
  b: 'the insert as a pipelined flight',
  c: 'positionedWrite (insert + position)',
}

interface Turn {
  readonly medianUs: number
  readonly cpuUsPerOp: number
}

async function turn(client: pg.Client, variant: Variant): Promise<Turn> {
  const latencies: number[] = []
  const cpu = process.cpuUsage()
  const end = performance.now() + TURN_MILLIS
  while (performance.now() < end) {
    const t0 = performance.now()
    await variant(client)
    latencies.push((performance.now() - t0) * 1000)
  }
  const used = process.cpuUsage(cpu)
  return { medianUs: median(latencies), cpuUsPerOp: (used.user + used.system) / latencies.length }
}

const ratio = (values: number[]) =>
  `${median(values).toFixed(3)} (${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)})`

async function main(): Promise<void> {
  const replicas = Number(args.replicas)
  const cluster = await startCluster({ replicas, fromEnv: false })
  const client = new pg.Client({ connectionString: cluster.primary.url })
  try {
    await cluster.primary.query('create table micro_writes (id bigserial primary key, tag text not null)')
    await client.connect()
    const keys = Object.keys(variants)
    for (const key of keys) await turn(client, variants[key]!) // warm-up
    const turns: Record<string, Turn[]> = Object.fromEntries(keys.map((key) => [key, []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = keys.map((_, i) => keys[(i + round) % keys.length]!)
      for (const key of order) turns[key]!.push(await turn(client, variants[key]!))
    }
    console.log(
      `commit-position microbench: ${ROUNDS} rounds × ${TURN_MILLIS} ms per variant, c1, primary with ${replicas} replicas`,
    )
    console.log(
      `   ${'variant'.padEnd(36)} ${'median µs'.padStart(10)} ${'CPU µs/op'.padStart(10)}   latency ratio to a (min–max)   CPU ratio to a`,
    )
    for (const key of keys) {
      const latency = turns[key]!.map((t, i) => t.medianUs / turns.a![i]!.medianUs)
      const cpu = turns[key]!.map((t, i) => t.cpuUsPerOp / turns.a![i]!.cpuUsPerOp)
      console.log(
        `${key}  ${labels[key]!.padEnd(36)} ${median(turns[key]!.map((t) => t.medianUs))
          .toFixed(1)
          .padStart(10)} ${median(turns[key]!.map((t) => t.cpuUsPerOp))
          .toFixed(1)
          .padStart(10)}   ${ratio(latency).padEnd(29)} ${ratio(cpu)}`,
      )
    }
  } finally {
    await client.end().catch(() => {})
    await cluster.close()
  }
}

await main()
