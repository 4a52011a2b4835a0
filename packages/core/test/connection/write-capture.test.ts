import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ResolvedSync } from '../../src/config/config-schema.js'
import { WriteCapture } from '../../src/connection/write-capture.js'
import { CapturePacer } from '../../src/consistency/capture-pacer.js'
import { ConsistencyScope } from '../../src/consistency/consistency-scope.js'
import { ReadDemand } from '../../src/consistency/read-demand.js'
import { MirrorTimeoutError } from '../../src/errors/causeway-error.js'
import { type AssembledCluster, assembledCluster } from '../support/assembled-cluster.js'

let c: AssembledCluster

beforeAll(async () => {
  c = await assembledCluster()
  await c.cluster.primary.query('create table notes (id serial primary key, body text)')
})
afterAll(() => c?.close())

/** A WriteCapture over the cluster's parts, as `assembleCluster` makes it, with its own settings. */
function capture(
  settings: { capture?: 'lazy' | 'eager'; sync?: ResolvedSync; demand?: ReadDemand } = {},
): WriteCapture {
  const { topology, waiter, events, counters, nodes } = c.parts
  return new WriteCapture({
    topology,
    waiter,
    events,
    counters,
    capture: settings.capture ?? 'lazy',
    pacer: new CapturePacer(2),
    demand: settings.demand ?? new ReadDemand(),
    sync: settings.sync,
    replicas: () => nodes.replicas(topology.lastPrimary),
  })
}

const sync = (timeoutMillis: number): ResolvedSync => ({
  replicas: 'all',
  timeoutMillis,
  onTimeout: 'error',
  method: 'client',
})

/** The insert LSN on the primary now, as a number to compare. */
async function primaryLsn(): Promise<bigint> {
  const [row] = await c.cluster.primary.query<{ lsn: string }>(
    `select (pg_current_wal_insert_lsn() - '0/0')::text as lsn`,
  )
  return BigInt(row!.lsn)
}

async function insert(body: string): Promise<void> {
  await c.cluster.primary.query('insert into notes (body) values ($1)', [body])
}

describe('WriteCapture (real cluster)', () => {
  it('with lazy capture, leaves the write to the scope, which captures it when it next needs a token', async () => {
    const primary = c.node('pg1')
    const scope = new ConsistencyScope()
    await insert('lazy')
    await capture({ capture: 'lazy' }).afterWrite(primary, scope)
    expect(scope.deferred).toBe(true)
    expect(scope.pending).toBeUndefined()
    expect(scope.token).toBeUndefined()
    const after = await primaryLsn()
    await scope.settle()
    expect(scope.token?.systemId).toBe(primary.systemId)
    expect(scope.token!.lsn).toBeGreaterThanOrEqual(after) // taken when needed, not at the write
  })

  it('with eager capture, captures within the pacer gap while reads want tokens, without a read asking', async () => {
    const primary = c.node('pg1')
    const demand = new ReadDemand()
    demand.mark()
    const scope = new ConsistencyScope()
    await insert('eager')
    const before = await primaryLsn()
    await capture({ capture: 'eager', demand }).afterWrite(primary, scope)
    // Deferred for at most the gap (2 ms here), then captured by the pacer.
    expect(scope.deferred).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await scope.pending
    expect(scope.deferred).toBe(false)
    expect(scope.token!.lsn).toBeGreaterThanOrEqual(before)
    expect(scope.token!.timeline).toBe(1)
  })

  it('with eager capture but no read wanting a token lately, captures nothing until one does', async () => {
    const primary = c.node('pg1')
    const scope = new ConsistencyScope()
    await insert('nobody reads')
    const captures = primary.captures.statements
    await capture({ capture: 'eager', demand: new ReadDemand() }).afterWrite(primary, scope)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(scope.deferred).toBe(true)
    expect(primary.captures.statements).toBe(captures)
  })

  it('with client mirroring, returns only once every replica has replayed the write', async () => {
    const primary = c.node('pg1')
    const { counters } = c.parts
    const waits = counters.mirrorWaits
    const body = `mirrored-${Date.now()}`
    await insert(body)
    await capture({ sync: sync(5_000) }).afterWrite(primary, new ConsistencyScope())
    expect(counters.mirrorWaits).toBe(waits + 1)
    for (const replica of c.cluster.replicas) {
      const rows = await replica.query('select 1 from notes where body = $1', [body])
      expect(rows).toHaveLength(1)
    }
  })

  it('with client mirroring, times out with a MirrorTimeoutError naming how many mirrored when a replica is paused', async () => {
    const primary = c.node('pg1')
    const { counters } = c.parts
    const [paused, live] = c.cluster.replicas
    await paused!.pauseReplay()
    try {
      await insert('not everywhere')
      const timeouts = counters.mirrorTimeouts
      const mirroring = capture({ sync: sync(300) }).afterWrite(primary, new ConsistencyScope())
      expect(mirroring).toBeInstanceOf(Promise)
      const error = await mirroring?.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MirrorTimeoutError)
      expect(error).toMatchObject({ code: 'MIRROR_TIMEOUT', mirrored: [live!.name], required: 2 })
      expect((error as Error).message).toMatch(/1 of 2 replicas applied it within 300 ms \(pg[23]\)/)
      expect(counters.mirrorTimeouts).toBe(timeouts + 1)
    } finally {
      await paused!.resumeReplay()
    }
  })

  it('a session can turn the mirroring off', async () => {
    const [paused] = c.cluster.replicas
    await paused!.pauseReplay()
    try {
      await insert('unmirrored')
      const waits = c.parts.counters.mirrorWaits
      await capture({ sync: sync(300) }).afterWrite(c.node('pg1'), new ConsistencyScope({ syncOff: true }))
      expect(c.parts.counters.mirrorWaits).toBe(waits)
    } finally {
      await paused!.resumeReplay()
    }
  })

  it('recovery() gives no token while the write’s server process runs a statement, and one once it is gone', async () => {
    const primary = c.node('pg1')
    const client = new pg.Client({ connectionString: c.cluster.primary.url })
    // Its session is terminated below: pg then reports the lost connection as an event.
    client.on('error', () => {})
    await client.connect()
    try {
      const pid = (client as unknown as { processID: number }).processID
      const running = client.query('select pg_sleep(20)').catch((error: { code?: string }) => error.code)
      const recovery = capture().recovery(primary, pid)
      for (let i = 0; i < 500; i++) {
        const rows = await c.cluster.primary.query(
          `select 1 from pg_stat_activity where pid = $1 and state = 'active'`,
          [pid],
        )
        if (rows.length > 0) break
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(await recovery()).toBeUndefined() // its statement may yet commit
      await c.cluster.primary.query('select pg_terminate_backend($1)', [pid])
      expect(await running).toBe('57P01')
      const before = await primaryLsn()
      const token = await recovery()
      expect(token).toMatchObject({ systemId: primary.systemId, timeline: 1 })
      expect(token!.lsn).toBeGreaterThanOrEqual(before)
      // Another node's process, or none known: nothing to wait for.
      expect(await capture().recovery(c.node('pg2'), pid)()).toBeDefined()
    } finally {
      await client.end().catch(() => {})
    }
  })
})
