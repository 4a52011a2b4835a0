import { setTimeout as sleep } from 'node:timers/promises'
import { startCluster } from '@causeway/testing'
import { type Generated, Kysely } from 'kysely'
import type { CausewayModule } from '../contenders/causeway-module.js'
import type { FailoverTrialResult } from './workload-result.js'

/** The one table a failover trial writes to. */
interface FailoverDatabase {
  readonly failover_writes: { readonly id: Generated<number> }
}

/** How long a trial waits for the first write after the kill before it gives up. */
export const FAILOVER_GIVE_UP_MILLIS = 20_000

/** The writer's pause after a failed write: the resolution of the figures, and a bound on its CPU. */
const RETRY_PAUSE_MILLIS = 2

const EVENTS = ['failover-started', 'failover-completed', 'primary-changed'] as const

/**
 * One failover trial, on a cluster of its own (a promotion changes the topology
 * for good): a primary (pg1) and two replicas, `CausewayDialect` over them with
 * `failover: mode` and every other setting at its default, and one writer loop
 * inserting rows back to back (after a failed write it pauses 2 ms). Once the loop
 * runs, pg1 is killed (SIGKILL to every process of the server); in `follow` mode pg2 is then
 * promoted at once, outside the library. The figure is the time from just before
 * the kill to the end of the first write that started after it and was answered by
 * another server (`inet_server_port()` in `returning`). The cluster and the dialect
 * are closed whatever happens; `adopt` lets the bench's signal handler close the
 * cluster too.
 */
export async function failoverTrial(
  causeway: CausewayModule,
  mode: 'follow' | 'auto',
  adopt: (close: () => Promise<void>) => () => void,
): Promise<FailoverTrialResult> {
  const cluster = await startCluster({ replicas: 2, fromEnv: false })
  const release = adopt(() => cluster.close())
  let db: Kysely<FailoverDatabase> | undefined
  let stop = false
  let writer: Promise<void> = Promise.resolve()
  try {
    await cluster.primary.query('create table failover_writes (id serial primary key)')
    const node = (n: { url: string; name: string }) => ({ connectionString: n.url, name: n.name })
    const dialect = new causeway.CausewayDialect({
      primary: node(cluster.primary),
      replicas: cluster.replicas.map(node),
      failover: mode,
      // One writer process: the in-process lock is enough.
      autoFailover: { singleProcess: true },
    })
    db = new Kysely<FailoverDatabase>({ dialect })
    await dialect.cluster.ready()
    const nameOf = (port: number) => cluster.nodes.find((n) => n.port === port)?.name ?? `port ${port}`

    let killedAt: number | undefined
    let writesBefore = 0
    const errors: Record<string, number> = {}
    const events: Record<string, number> = {}
    for (const name of EVENTS) {
      dialect.cluster.on(name, () => {
        if (killedAt !== undefined) events[name] ??= round(performance.now() - killedAt)
      })
    }
    let resolveFirst!: (write: { end: number; port: number }) => void
    const firstWrite = new Promise<{ end: number; port: number }>((resolve) => {
      resolveFirst = resolve
    })
    const write = db
      .insertInto('failover_writes')
      .defaultValues()
      .returning((eb) => eb.fn<number>('inet_server_port').as('port'))
    writer = (async () => {
      while (!stop) {
        const start = performance.now()
        try {
          const { port } = await write.executeTakeFirstOrThrow()
          if (killedAt === undefined) writesBefore++
          else if (start >= killedAt && port !== cluster.primary.port) {
            resolveFirst({ end: performance.now(), port })
            return
          }
        } catch (error) {
          const code = (error as { code?: unknown }).code
          const key = typeof code === 'string' ? code : (error as Error).name
          errors[key] = (errors[key] ?? 0) + 1
          await sleep(RETRY_PAUSE_MILLIS)
        }
      }
    })()
    await sleep(300)
    if (writesBefore === 0) throw new Error('the writer loop made no write before the kill')

    killedAt = performance.now()
    await cluster.primary.kill()
    let promotedAt: number | undefined
    if (mode === 'follow') {
      await cluster.replicas[0]!.promote()
      promotedAt = performance.now()
    }
    const first = await within(firstWrite, FAILOVER_GIVE_UP_MILLIS)
    const killToFirstWriteMs = first ? round(first.end - killedAt) : undefined
    return {
      killToFirstWriteMs,
      ...(promotedAt === undefined
        ? {}
        : {
            promotedAtMs: round(promotedAt - killedAt),
            ...(first ? { promotionToFirstWriteMs: round(first.end - promotedAt) } : {}),
          }),
      events,
      newPrimary: first ? nameOf(first.port) : undefined,
      writesBefore,
      errors,
      ...(first ? {} : { failure: `no write within ${FAILOVER_GIVE_UP_MILLIS / 1000} s of the kill` }),
    }
  } catch (error) {
    return {
      killToFirstWriteMs: undefined,
      events: {},
      newPrimary: undefined,
      writesBefore: 0,
      errors: {},
      failure: (error as Error).message,
    }
  } finally {
    stop = true
    await within(writer, 10_000)
    try {
      await db?.destroy()
    } finally {
      await cluster.close()
      release()
    }
  }
}

/** `promise`'s value, or undefined after `millis`; the timer is cleared either way, so it holds no exit. */
async function within<T>(promise: Promise<T>, millis: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), millis)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

function round(millis: number): number {
  return Math.round(millis * 10) / 10
}
