import { startCluster, type TestCluster } from '@causeway/testing'
import { clusterAddresses } from './cluster-urls.js'
import { type LoadedCauseway, loadCauseway } from './contenders/causeway-module.js'
import type { ContenderKey } from './contenders/contender.js'
import { type Contenders, startContenders } from './contenders/start-contenders.js'
import { createFixture, ROWS } from './fixture.js'
import { machineFacts } from './machine.js'
import { parseOptions } from './options.js'
import { ensurePgpool, type PgpoolAvailability } from './pgpool/install-pgpool.js'
import { printTargets, printWorkload } from './report/print-table.js'
import { writeResults } from './report/results-file.js'
import type { BenchContext } from './run/bench-context.js'
import type { WorkloadResult } from './run/workload-result.js'
import { WRITES_TABLE } from './schema.js'
import { WORKLOADS } from './workloads/index.js'

const REPLICA_SHARE_METHOD =
  'each read selects inet_server_port(); a read whose port is not the primary’s counts as served by a replica'

const started = performance.now()
const options = parseOptions(process.argv.slice(2))
const workloads = options.only ? WORKLOADS.filter((w) => options.only!.includes(w.key)) : WORKLOADS
if (workloads.length === 0) {
  console.error(`no workload matches --only; the keys are: ${WORKLOADS.map((w) => w.key).join(', ')}`)
  process.exit(2)
}
const log = (line: string) => console.log(`· ${line}`)
const needed = new Set<ContenderKey>(workloads.flatMap((w) => w.contenders))

let pgpool: PgpoolAvailability = { ok: false, reason: 'not needed by the selected workloads' }
if (needed.has('C'))
  pgpool = options.pgpool ? await ensurePgpool(log) : { ok: false, reason: 'left out (--no-pgpool)' }

let causewayBuild: LoadedCauseway | undefined
if (
  needed.has('D') ||
  needed.has('D0') ||
  needed.has('Ds') ||
  needed.has('Dm') ||
  needed.has('Da') ||
  needed.has('Dp') ||
  needed.has('Dd') ||
  workloads.some((w) => w.needsCauseway)
) {
  causewayBuild = await loadCauseway({ source: options.source })
  log(`Causeway: ${causewayBuild.build}`)
}

log('starting a cluster: a primary and 2 replicas')
// Up to seven contenders keep up to 16 connections per node each, for the whole run.
const cluster: TestCluster = await startCluster({
  replicas: 2,
  settings: { max_connections: 200 },
  onProgress: log,
})
let contenders: Contenders | undefined
// What workloads started themselves (a failover trial's cluster), closed on a signal too.
const adopted = new Set<() => Promise<void>>()
const adopt = (close: () => Promise<void>) => {
  adopted.add(close)
  return () => void adopted.delete(close)
}
let cleaning: Promise<void> | undefined
const cleanup = () => {
  cleaning ??= (async () => {
    try {
      await Promise.allSettled([...adopted].map((close) => close()))
      await contenders?.close()
    } finally {
      await cluster.close()
    }
  })()
  return cleaning
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`)
    void cleanup().finally(() => process.exit(130))
  })
}

try {
  let addresses = clusterAddresses(cluster)
  if (needed.has('Dm') || needed.has('Da') || needed.has('Dd')) {
    log('starting an independent server for the statement mirrors')
    const mirror = await startCluster({ replicas: 0, fromEnv: false, settings: { max_connections: 200 } })
    adopt(() => mirror.close())
    await mirror.primary.query(`create table ${WRITES_TABLE} (id serial primary key, tag text not null)`)
    const url = new URL(mirror.primary.url)
    addresses = {
      ...addresses,
      mirror: { name: 'mirror', url: mirror.primary.url, host: url.hostname, port: Number(url.port || 5432) },
    }
  }
  log(`creating ${ROWS.toLocaleString('en-US')} rows on the primary, waiting for the replicas`)
  await createFixture(cluster)
  contenders = await startContenders(addresses, needed, pgpool, causewayBuild?.module, log)
  const pgpoolFact = contenders.skipped.has('C')
    ? `skipped: ${contenders.skipped.get('C')}`
    : pgpool.ok
      ? pgpool.version
      : `skipped: ${pgpool.reason}`
  const machine = await machineFacts(cluster, pgpoolFact)
  console.log(
    `\n${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
      `pgpool ${machine.pgpool}; ${machine.network}`,
  )
  for (const [key, reason] of contenders.skipped) console.log(`contender ${key} skipped: ${reason}`)

  const context: BenchContext = {
    cluster,
    addresses,
    contenders: contenders.started,
    skipped: contenders.skipped,
    plan: options.plan,
    quick: options.quick,
    log,
    causeway: causewayBuild?.module,
    adopt,
  }
  const results: WorkloadResult[] = []
  for (const workload of workloads) {
    const result = await workload.run(context)
    printWorkload(result)
    results.push(result)
  }
  const targets = results.flatMap((r) => r.targets)
  printTargets(targets)

  const runtimeSeconds = Math.round((performance.now() - started) / 100) / 10
  const path = await writeResults({
    machine,
    plan: { ...options.plan, quick: options.quick },
    contenders: Object.fromEntries([...contenders.started.values()].map((c) => [c.key, c.label])),
    replicaShareMethod: REPLICA_SHARE_METHOD,
    causewayBuild: causewayBuild?.build ?? 'not loaded',
    runtimeSeconds,
    workloads: Object.fromEntries(results.map((r) => [r.key, r])),
  })
  console.log(`\nwrote ${path}`)
} finally {
  await cleanup()
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`)
