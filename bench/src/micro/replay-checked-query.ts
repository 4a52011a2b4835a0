// Microbench of the same-flight replay check, with raw pg clients on one replica:
//   a  client.query point read (the baseline)
//   b  replayCheckedQuery, a Sync each (check, Sync, read, Sync)
//   c  replayCheckedQuery, one Sync (check, read, Sync)
//   d  the check, then the read, one after the other (two round trips)
// at concurrency 1 and 16. Turns are interleaved and their order rotates by round,
// and each ratio is taken within a round, as in the main bench.
//
//   pnpm --filter @causeway/bench micro:replay-check [-- --rounds 20 --millis 300]
import { parseArgs } from 'node:util'
import { startCluster } from '@causeway/testing'
import pg from 'pg'
import { replayCheckedQuery } from '../../../packages/core/src/connection/replay-checked-query.js'
import { median, quantile, sorted } from '../stats.js'

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'), // pnpm passes its '--' on
  options: { rounds: { type: 'string', default: '15' }, millis: { type: 'string', default: '300' } },
})
const ROUNDS = Number(args.rounds)
const TURN_MILLIS = Number(args.millis)
const ROWS = 10_000
const POINT = 'select id, name, qty from micro_items where id = $1'
const CHECK =
  "select pg_catalog.pg_last_wal_replay_lsn(), pg_catalog.current_setting('transaction_isolation')"

type Variant = (client: pg.Client, id: number) => Promise<unknown>
const variants: Record<string, Variant> = {
  a: (client, id) => client.query(POINT, [id]),
  b: (client, id) => replayCheckedQuery(client, POINT, [id], { sync: 'each' }),
  c: (client, id) => replayCheckedQuery(client, POINT, [id], { sync: 'once' }),
  d: async (client, id) => {
    await client.query(CHECK)
    return client.query(POINT, [id])
  },
}
const labels: Record<string, string> = {
  a: 'client.query point read',
  b: 'replayCheckedQuery, a Sync each',
  c: 'replayCheckedQuery, one Sync',
  d: 'check, then read (sequential)',
}

interface Turn {
  readonly medianUs: number
  readonly opsPerSec: number
  readonly latencies: number[]
}

async function turn(clients: pg.Client[], variant: Variant): Promise<Turn> {
  const latencies: number[] = []
  const end = performance.now() + TURN_MILLIS
  const started = performance.now()
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const id = 1 + Math.floor(Math.random() * ROWS)
        const t0 = performance.now()
        await variant(client, id)
        latencies.push((performance.now() - t0) * 1000)
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  return { medianUs: median(latencies), opsPerSec: latencies.length / elapsed, latencies }
}

async function main(): Promise<void> {
  const cluster = await startCluster({ replicas: 1, settings: { max_connections: 100 } })
  try {
    await cluster.primary.query(
      'create table micro_items (id int primary key, name text not null, qty int not null)',
    )
    await cluster.primary.query(
      "insert into micro_items select i, 'item ' || i, i % 100 from generate_series(1, $1::int) as i",
      [ROWS],
    )
    await cluster.primary.query('vacuum analyze micro_items')
    const [{ lsn }] = (await cluster.primary.query<{ lsn: string }>(
      'select pg_current_wal_insert_lsn()::text as lsn',
    )) as [{ lsn: string }]
    for (;;) {
      const [row] = await cluster.replicas[0]!.query<{ caught: boolean }>(
        'select pg_last_wal_replay_lsn() >= $1::pg_lsn as caught',
        [lsn],
      )
      if (row?.caught) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    console.log(
      `replayCheckedQuery microbench: ${ROUNDS} rounds × ${TURN_MILLIS} ms per variant, one replica`,
    )
    for (const concurrency of [1, 16]) {
      const clients = await Promise.all(
        Array.from({ length: concurrency }, async () => {
          const client = new pg.Client({ connectionString: cluster.replicas[0]!.url })
          await client.connect()
          return client
        }),
      )
      const keys = Object.keys(variants)
      for (const key of keys) await turn(clients, variants[key]!) // warm-up
      const turns: Record<string, Turn[]> = Object.fromEntries(keys.map((key) => [key, []]))
      for (let round = 0; round < ROUNDS; round++) {
        const order = keys.map((_, i) => keys[(i + round) % keys.length]!)
        for (const key of order) turns[key]!.push(await turn(clients, variants[key]!))
      }
      console.log(`\nc${concurrency}`)
      console.log(
        `   ${'variant'.padEnd(34)} ${'median µs'.padStart(10)} ${'p99 µs'.padStart(9)} ${'ops/s'.padStart(8)}   latency ratio to a (min–max)    throughput ratio to a`,
      )
      for (const key of keys) {
        const all = sorted(turns[key]!.flatMap((t) => t.latencies))
        const latency = turns[key]!.map((t, i) => t.medianUs / turns.a![i]!.medianUs)
        const throughput = turns[key]!.map((t, i) => t.opsPerSec / turns.a![i]!.opsPerSec)
        const ops = median(turns[key]!.map((t) => t.opsPerSec))
        console.log(
          `${key}  ${labels[key]!.padEnd(34)} ${quantile(all, 0.5).toFixed(1).padStart(10)} ${quantile(
            all,
            0.99,
          )
            .toFixed(1)
            .padStart(
              9,
            )} ${ops.toFixed(0).padStart(8)}   ${median(latency).toFixed(3)} (${Math.min(...latency).toFixed(3)}–${Math.max(...latency).toFixed(3)})   ${median(throughput).toFixed(3)}`,
        )
      }
      await Promise.all(clients.map((client) => client.end()))
    }
  } finally {
    await cluster.close()
  }
}

await main()
