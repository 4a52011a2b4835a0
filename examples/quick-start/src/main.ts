// `pnpm demo`: starts an embedded primary with two streaming replicas and shows them:
// roles, replay positions and lag while one replica is paused and then resumed.
// `pnpm demo --watch` keeps a live view until Ctrl-C.
import { type ClusterNode, startCluster } from '@causeway/testing'

const watch = process.argv.includes('--watch')
const started = performance.now()
const cluster = await startCluster({
  onProgress: (step) => console.log(`  [${((performance.now() - started) / 1000).toFixed(2)}s] ${step}`),
})

let closing = false
const shutdown = async () => {
  if (closing) return
  closing = true
  await cluster.close()
  console.log('cluster stopped; nothing left running')
}
process.once('SIGINT', () => void shutdown().then(() => process.exit(0)))

interface Row {
  name: string
  role: string
  lsn: string
  lag: string
}

async function snapshot(): Promise<Row[]> {
  const [head] = await cluster.primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')
  return Promise.all(
    cluster.nodes.map(async (node: ClusterNode) => {
      const [row] = await node.query<{ standby: boolean; lsn: string; lag: string; paused: boolean }>(
        `select pg_is_in_recovery() as standby,
                coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text as lsn,
                pg_wal_lsn_diff($1, coalesce(pg_last_wal_replay_lsn(), $1))::text as lag,
                pg_is_in_recovery() and pg_get_wal_replay_pause_state() <> 'not paused' as paused`,
        [head?.lsn],
      )
      const role = row?.standby ? `replica${row.paused ? ' (replay paused)' : ''}` : 'primary'
      return { name: node.name, role, lsn: row?.lsn ?? '?', lag: `${row?.lag ?? '?'} bytes` }
    }),
  )
}

async function show(title: string): Promise<void> {
  console.log(`\n${title}`)
  console.table(await snapshot())
}

await cluster.primary.query('create table demo (id serial primary key, payload text)')
await show('A primary and two replicas, all caught up:')

const paused = cluster.replicas[0]!
await paused.pauseReplay()
await cluster.primary.query(
  `insert into demo (payload) select repeat('x', 200) from generate_series(1, 2000)`,
)
await new Promise((resolve) => setTimeout(resolve, 200))
await show(`${paused.name} paused, 2,000 rows written on the primary: ${paused.name} lags behind.`)

await paused.resumeReplay()
await new Promise((resolve) => setTimeout(resolve, 200))
await show(`${paused.name} resumed: it has caught up.`)

if (watch) {
  console.log('\nwatching (a row a second is written to the primary); Ctrl-C to stop')
  const timer = setInterval(async () => {
    if (closing) return
    await cluster.primary.query(`insert into demo (payload) values ('tick')`)
    console.clear()
    await show(`live view, ${new Date().toLocaleTimeString()} — Ctrl-C to stop`)
  }, 1_000)
  process.once('SIGINT', () => clearInterval(timer))
} else {
  await shutdown()
}
