import { setTimeout as sleep } from 'node:timers/promises'
import { startPatroniCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import type { CausewayModule } from '../contenders/causeway-module.js'
import type { PatroniTrialResult } from './workload-result.js'

/** How the leader changes in a trial: Patroni's planned switchover, or the leader SIGKILLed. */
export type PatroniChange = 'switchover' | 'kill'

/** How long a trial waits for Patroni to name a new leader, and then for writes on it, before it gives up. */
export const PATRONI_GIVE_UP_MILLIS = 30_000

/** Writes the new leader must acknowledge before the trial stops its writer: the tail the loss check covers. */
const WRITES_AFTER = 50

/** The writer's pause after a failed write: the resolution of the figures, and a bound on its CPU. */
const RETRY_PAUSE_MILLIS = 2

/** How often `/cluster` is polled for the new leader: the resolution of the moment it names it. */
const POLL_MILLIS = 20

/** An acknowledged write: where and on which timeline it committed, and when (ms, `performance.now()`). */
interface Write {
  readonly id: number
  readonly port: number
  readonly timeline: number
  readonly at: number
}

/**
 * One leader change under Patroni, on a cluster of its own: etcd and 3 Patroni
 * members over PostgreSQL 15 (the harness's timings: ttl 5 s, loop_wait 1 s), in
 * `synchronous_mode` as in test/ha/patroni-follow.test.ts, so that a killed leader
 * takes no acknowledged write with it. `CausewayDialect` lists every member
 * (the leader as `primary`), with `failover: 'follow'` and every other setting at
 * its default; one writer loop inserts rows back to back, each `returning` the
 * server's port and timeline. Then the leader changes (`change`), and `/cluster`
 * is polled every 20 ms: the figure is from the poll that first names another
 * leader to the end of the first write that leader acknowledged. Once it has
 * acknowledged 50, the writer stops and the final leader is asked for every
 * acknowledged id. Everything is closed whatever happens; `adopt` lets the
 * bench's signal handler close the cluster too.
 */
export async function patroniTrial(
  causeway: CausewayModule,
  change: PatroniChange,
  adopt: (close: () => Promise<void>) => () => void,
): Promise<PatroniTrialResult> {
  const cluster = await startPatroniCluster({ members: 3, synchronousMode: true })
  const release = adopt(() => cluster.close())
  let db: Kysely<unknown> | undefined
  let stop = false
  let writer: Promise<void> = Promise.resolve()
  const writes: Write[] = []
  const errors: Record<string, number> = {}
  try {
    const leader = await cluster.leader()
    if (!leader) throw new Error('Patroni reports no leader')
    await leader.member.query('create table patroni_writes (id bigserial primary key)')
    const node = (m: { url: string; name: string }) => ({ connectionString: m.url, name: m.name })
    const dialect = new causeway.CausewayDialect({
      primary: node(leader.member),
      replicas: cluster.members.filter((m) => m !== leader.member).map(node),
      failover: 'follow',
    })
    db = new Kysely<unknown>({ dialect })
    await dialect.cluster.ready()
    const insert = sql<{ id: string; port: number; tli: string }>`
      insert into patroni_writes default values
      returning id, inet_server_port() as port, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as tli`
    const oldPort = leader.member.pgPort
    let newPort: number | undefined
    let onNew = 0
    writer = (async () => {
      while (!stop) {
        try {
          const row = (await insert.execute(db!)).rows[0]!
          const port = row.port
          writes.push({
            id: Number(row.id),
            port,
            timeline: Number.parseInt(row.tli, 16),
            at: performance.now(),
          })
          if (port === newPort) onNew++
        } catch (error) {
          const code = (error as { code?: unknown }).code
          const key = typeof code === 'string' ? code : (error as Error).name
          errors[key] = (errors[key] ?? 0) + 1
          await sleep(RETRY_PAUSE_MILLIS)
        }
      }
    })()
    await sleep(500)
    const writesBefore = writes.length
    if (writesBefore === 0) throw new Error('the writer loop made no write before the change')

    const startedAt = performance.now()
    const changed = change === 'switchover' ? cluster.switchover() : cluster.killLeader()
    let reportedAt: number | undefined
    let runningAt: number | undefined
    let newLeader: string | undefined
    const deadline = startedAt + PATRONI_GIVE_UP_MILLIS
    while (runningAt === undefined && performance.now() < deadline) {
      const now = await cluster.leader()
      if (now && now.member !== leader.member) {
        reportedAt ??= performance.now()
        newLeader = now.member.name
        newPort = now.member.pgPort
        if (now.state === 'running') runningAt = performance.now()
      }
      await sleep(POLL_MILLIS)
    }
    await changed
    if (
      reportedAt === undefined ||
      runningAt === undefined ||
      newLeader === undefined ||
      newPort === undefined
    ) {
      throw new Error(`Patroni named no running new leader within ${PATRONI_GIVE_UP_MILLIS / 1000} s`)
    }
    const port = newPort
    onNew = writes.filter((w) => w.port === port).length
    while (onNew < WRITES_AFTER && performance.now() < deadline) await sleep(50)
    stop = true
    await writer

    const first = writes.find((w) => w.port === port)
    const newTimeline = Math.max(0, ...writes.filter((w) => w.port === port).map((w) => w.timeline))
    const final = await cluster.leader()
    const ids = writes.map((w) => w.id)
    const [{ found }] = (await (final ?? { member: cluster.member(newLeader) }).member.query<{
      found: number
    }>('select count(*)::int as found from patroni_writes where id = any($1::bigint[])', [ids])) as [
      { found: number },
    ]
    return {
      change,
      oldLeader: leader.member.name,
      newLeader,
      finalLeader: final?.member.name ?? newLeader,
      namedAtMs: round(reportedAt - startedAt),
      runningAtMs: round(runningAt - startedAt),
      namedToFirstWriteMs: first ? round(first.at - reportedAt) : undefined,
      writesBefore,
      acknowledged: writes.length,
      lost: writes.length - found,
      toOldLeaderAfterNamed: writes.filter((w) => w.port === oldPort && w.at > reportedAt).length,
      onOldTimelineAfterRunning: writes.filter((w) => w.at > runningAt && w.timeline !== newTimeline).length,
      errors,
      ...(first
        ? {}
        : { failure: `no write on ${newLeader} within ${PATRONI_GIVE_UP_MILLIS / 1000} s of the change` }),
    }
  } catch (error) {
    return {
      change,
      oldLeader: undefined,
      newLeader: undefined,
      finalLeader: undefined,
      namedAtMs: undefined,
      runningAtMs: undefined,
      namedToFirstWriteMs: undefined,
      writesBefore: 0,
      acknowledged: writes.length,
      lost: undefined,
      toOldLeaderAfterNamed: undefined,
      onOldTimelineAfterRunning: undefined,
      errors,
      failure: (error as Error).message,
    }
  } finally {
    stop = true
    // An unref'd timer: a writer that never ends must not hold the process either.
    await Promise.race([writer, sleep(10_000, undefined, { ref: false })])
    try {
      await db?.destroy()
    } finally {
      await cluster.close()
      release()
    }
  }
}

function round(millis: number): number {
  return Math.round(millis * 10) / 10
}
