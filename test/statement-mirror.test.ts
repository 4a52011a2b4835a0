import {
  CausewayError,
  type Cluster,
  type ClusterConfig,
  type ClusterEvents,
  classifySql,
  createCluster,
  type MirrorConfig,
} from '@causeway/core'
import {
  backendOf,
  pgbouncerAvailable,
  type RunningProxy,
  startCluster,
  startPgbouncer,
  type TestCluster,
} from '@causeway/testing'
import Cursor from 'pg-cursor'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppProcess } from './support/app-process.js'
import { CUT, startDelayProxy } from './support/delay-proxy.js'
import { loginOf, titled } from './support/proxies.js'
import { eventually, sleep } from './support/wait.js'

// A primary with a streaming replica, and an independent server as the mirror.
let source: TestCluster
let target: TestCluster
const open: Cluster[] = []

beforeAll(async () => {
  ;[source, target] = await Promise.all([
    startCluster({ replicas: 1 }),
    startCluster({ replicas: 0, fromEnv: false }),
  ])
})
afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()))
  await Promise.allSettled([source?.close(), target?.close()])
})

const mirrorNode = () => target.primary

function cluster(mirror: Partial<MirrorConfig> = {}, extra: Partial<ClusterConfig> = {}): Cluster {
  const made = createCluster({
    primary: { connectionString: source.primary.url, name: source.primary.name },
    replicas: source.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    mirrors: [{ url: mirrorNode().url, name: 'mirror', ...mirror }],
    ...extra,
  })
  open.push(made)
  return made
}

/** Creates the same table on the primary and on the mirror (the mirror starts as a copy). */
async function createOnBoth(ddl: string): Promise<void> {
  await source.primary.query(ddl)
  await mirrorNode().query(ddl)
}

const run = (c: Cluster, sql: string, parameters: unknown[] = []) => c.query(sql, parameters)

/** Runs `fn` in one transaction on a routed connection; commits, or rolls back when `rollback`. */
async function transaction(
  c: Cluster,
  fn: (exec: (sql: string, parameters?: unknown[]) => Promise<unknown>) => Promise<void>,
  rollback = false,
): Promise<void> {
  const connection = c.connect()
  try {
    await connection.begin()
    await fn((sql, parameters = []) =>
      connection.execute({ sql, parameters, intent: classifySql(sql).intent }),
    )
    if (rollback) await connection.rollback()
    else await connection.commit()
  } catch (error) {
    await connection.rollback().catch(() => {})
    throw error
  } finally {
    connection.release()
  }
}

const mirrorStatus = (c: Cluster) => c.status().mirrors![0]!

function collect<E extends keyof ClusterEvents>(c: Cluster, event: E): ClusterEvents[E][] {
  const seen: ClusterEvents[E][] = []
  c.on(event, (payload) => seen.push(payload))
  return seen
}

/** Resolves once the durable outbox on the primary holds no row for the mirror. */
async function outboxRelayed(): Promise<void> {
  await eventually(
    async () =>
      (
        (await source.primary.query(
          "select count(*)::int as n from causeway_mirror.outbox where mirror = 'mirror'",
        )) as [{ n: number }]
      )[0].n === 0,
    'the outbox to be relayed',
    30_000,
  )
}

async function drained(c: Cluster): Promise<void> {
  await eventually(
    () => mirrorStatus(c).backlogStatements === 0 && mirrorStatus(c).lagMillis === 0,
    'the mirror backlog to drain',
    30_000,
  )
}

/**
 * 8 writers, 25 transactions each (every fifth rolled back), each followed by an
 * autocommit update. `shared`: every writer updates row 1 of `acc` (conflicting,
 * non-commuting: v = v * 3 + k, so a replay out of commit order ends with another
 * v); else writer w updates row w + 1 only.
 */
async function eightWriters(c: Cluster, acc: string, log: string, shared: boolean): Promise<void> {
  const rows = shared ? [1] : Array.from({ length: 8 }, (_, w) => w + 1)
  for (const id of rows) {
    await source.primary.query(`insert into ${acc} values (${id}, 1)`)
    await mirrorNode().query(`insert into ${acc} values (${id}, 1)`)
  }
  await Promise.all(
    Array.from({ length: 8 }, async (_, writer) => {
      const id = shared ? 1 : writer + 1
      for (let i = 0; i < 25; i++) {
        const rollback = i % 5 === 4
        await transaction(
          c,
          async (exec) => {
            await exec(`insert into ${log} (writer, i, note) values ($1, $2, $3)`, [writer, i, `w${writer}`])
            await exec(`update ${acc} set v = mod(v * 3 + $1, 1000000007) where id = $2`, [
              writer * 100 + i,
              id,
            ])
            if (i % 2 === 0)
              await exec(`update ${log} set note = note || $3 where writer = $1 and i = $2`, [writer, i, '+'])
          },
          rollback,
        )
        await run(c, `update ${log} set note = note || $2 where writer = $1 and i = 0`, [writer, '.'])
      }
    }),
  )
}

describe('statement mirrors, in memory', () => {
  // Every writer updates one row, non-commuting: replayed in acknowledgement order
  // rather than commit order, the mirror's row ends with another value (a backend
  // releases its locks before it sends its COMMIT's reply, so under load the next
  // writer's reply can arrive first; an earlier version failed here that way).
  it("replays 8 concurrent writers on one row, with transactions and rollbacks, in the primary's commit order", async () => {
    await createOnBoth('create table m_acc (id int primary key, v numeric not null)')
    await createOnBoth('create table m_log (writer int, i int, note text, primary key (writer, i))')
    const c = cluster()
    await c.ready()
    await eightWriters(c, 'm_acc', 'm_log', true)
    await drained(c)
    const report = await c.compareMirror('mirror', { tables: ['m_acc', 'm_log'] })
    expect(report.tables.map((t) => [t.table, t.primaryRows, t.equal])).toEqual([
      ['m_acc', 1, true],
      ['m_log', 8 * 20, true],
    ])
    expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', failed: 0, notApplied: 0 })
    // A rolled-back transaction never reaches the mirror.
    expect(await mirrorNode().query('select count(*)::int as n from m_log where i % 5 = 4')).toEqual([
      { n: 0 },
    ])
  })

  // With order: 'acknowledgement' the same race ends with the value its README
  // describes (1 * 2 + 1 = 3): what the commit positions are for.
  it.each([
    { order: 'commit' as const, mirrored: 4 },
    { order: 'acknowledgement' as const, mirrored: 3 },
  ])(
    "a COMMIT's reply held back 600 ms behind the next writer's: order '$order' replays v = $mirrored",
    async ({ order, mirrored }) => {
      const table = `m_race_${order === 'commit' ? 'c' : 'a'}` // no "commit" in the name: the proxy looks for it
      await createOnBoth(`create table ${table} (id int primary key, v int not null)`)
      await createOnBoth(`insert into ${table} values (1, 1)`)
      // The connection that sent "v + 1" gets its COMMIT's reply 600 ms late.
      await using proxy = await startDelayProxy(source.primary.url, (sent, connection) => {
        const text = sent.toString('latin1')
        if (text.includes('v + 1')) connection.marked = true
        if (!connection.marked || !/commit/i.test(text)) return 0
        connection.marked = false
        return 600
      })
      const c = createCluster({
        primary: { connectionString: proxy.url, name: 'proxied' },
        mirrors: [{ url: mirrorNode().url, name: 'mirror', order }],
      })
      open.push(c)
      await c.ready()
      const a = c.connect()
      await a.begin()
      await a.execute({ sql: `update ${table} set v = v + 1 where id = 1`, parameters: [], intent: 'write' })
      const settled: string[] = []
      // B waits for A's row lock, so it commits after A.
      const b = run(c, `update ${table} set v = v * 2 where id = 1`).then(() => settled.push('b'))
      await eventually(
        async () =>
          (
            (await source.primary.query(
              "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%v * 2%'",
            )) as [{ n: number }]
          )[0].n === 1,
        'B to wait for the row lock',
      )
      const commitA = a.commit().then(() => settled.push('a'))
      await Promise.all([b, commitA])
      a.release()
      // Acknowledged in the other order than they committed: what the test is about.
      expect(settled).toEqual(['b', 'a'])
      await drained(c)
      expect(await source.primary.query(`select v from ${table}`)).toEqual([{ v: 4 }])
      expect(await mirrorNode().query(`select v from ${table}`)).toEqual([{ v: mirrored }])
      expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', heldForOrder: 0, failed: 0, notApplied: 0 })
    },
  )

  it("a replay whose COMMIT's answer is lost is neither applied twice nor lost, though the queue grew meanwhile", async () => {
    await createOnBoth('create table m_once (v int not null)')
    let cuts = 0
    // The mirror's answer to the first replay COMMIT (with its progress row) never arrives.
    await using proxy = await startDelayProxy(mirrorNode().url, (sent) => {
      const text = sent.toString('latin1')
      if (cuts > 0 || !text.includes('causeway_mirror.progress') || !/commit/i.test(text)) return 0
      cuts++
      return CUT
    })
    const c = createCluster({
      primary: { connectionString: source.primary.url, name: source.primary.name },
      mirrors: [{ url: proxy.url, name: 'mirror', gatherMillis: 0 }],
    })
    open.push(c)
    await c.ready()
    for (let v = 1; v <= 40; v++) await run(c, 'insert into m_once values ($1)', [v])
    await drained(c)
    expect(cuts).toBe(1)
    // No key on the table: a row applied twice would show as a second copy.
    expect(
      await mirrorNode().query('select count(*)::int as n, count(distinct v)::int as d from m_once'),
    ).toEqual([{ n: 40, d: 40 }])
    expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', notApplied: 0 })
    expect(mirrorStatus(c).failed).toBeGreaterThan(0)
  })

  it('mirrors several statements in one text, VACUUM, a streamed write stopped early, and no aborted transaction', async () => {
    await createOnBoth('create table m_kinds (id int primary key, note text)')
    const c = cluster()
    await c.ready()
    // Several statements without parameters: the simple protocol, as pg sends them.
    const several = (await run(
      c,
      "insert into m_kinds values (1, 'a'); insert into m_kinds values (2, 'b')",
    )) as unknown
    expect(Array.isArray(several) && several.map((r: { rowCount: number }) => r.rowCount)).toEqual([1, 1])
    // A write the primary rejects takes a place in commit order, then gives it up:
    // the writes after it are not held back (they would be missing below).
    await expect(run(c, "insert into m_kinds values ($1, 'dup')", [1])).rejects.toMatchObject({
      code: '23505',
    })
    // Cannot run in a transaction block: run alone.
    await run(c, 'vacuum m_kinds')
    const one = await run(c, "insert into m_kinds values ($1, 'c') returning id", [3])
    expect(one.rows).toEqual([{ id: 3 }])
    // A streamed write whose consumer stops after its first row: it ran whole, and is mirrored whole.
    const streaming = c.connect()
    for await (const rows of streaming.stream(
      {
        sql: 'insert into m_kinds values ($1, $2), ($3, $4) returning id',
        parameters: [4, 'd', 5, 'e'],
        intent: 'write',
      },
      1,
      Cursor as never,
    )) {
      expect(rows).toEqual([{ id: 4 }])
      break
    }
    expect(streaming.inTransaction).toBe(false)
    // A transaction an error aborted: its COMMIT answers ROLLBACK, and nothing is mirrored.
    await streaming.begin()
    await streaming.execute({ sql: "insert into m_kinds values (6, 'f')", parameters: [], intent: 'write' })
    await expect(streaming.execute({ sql: 'select 1/0', parameters: [], intent: 'write' })).rejects.toThrow(
      /division/,
    )
    expect(await streaming.commit()).toBe('ROLLBACK')
    streaming.release()
    await drained(c)
    const report = await c.compareMirror('mirror', { tables: ['m_kinds'] })
    expect(report.tables[0]).toMatchObject({ primaryRows: 5, mirrorRows: 5, equal: true })
    expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', heldForOrder: 0, failed: 0, notApplied: 0 })
  })

  it('builds a backlog while the mirror is stopped for 5 s under load, and drains it in order once it is back', async () => {
    await createOnBoth('create table m_outage (id int primary key, prev int)')
    const c = cluster({ backlog: { maxStatements: 1_000_000 } })
    const caughtUp = collect(c, 'mirror-caught-up')
    await c.ready()
    let writing = true
    let written = 0
    const writer = (async () => {
      while (writing) {
        // Each row names the one before: replayed out of order, the last check fails.
        await run(c, 'insert into m_outage values ($1, $2)', [written + 1, written])
        written++
      }
    })()
    await eventually(() => mirrorStatus(c).applied > 20, 'some writes mirrored')
    await mirrorNode().stop()
    const stoppedAt = written
    await sleep(5_000)
    expect(mirrorStatus(c).state).toBe('catching-up')
    expect(mirrorStatus(c).backlogStatements).toBeGreaterThan(0)
    expect(written).toBeGreaterThan(stoppedAt) // the primary's path never waited
    await mirrorNode().start()
    await sleep(500)
    writing = false
    await writer
    await drained(c)
    expect(caughtUp.length).toBeGreaterThan(0)
    expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', notApplied: 0 })
    const report = await c.compareMirror('mirror', { tables: ['m_outage'] })
    expect(report.tables[0]).toMatchObject({ primaryRows: written, mirrorRows: written, equal: true })
  })

  it('a paused sync mirror: the write fails with MIRROR_NOT_APPLIED, and the row is on the primary', async () => {
    await createOnBoth('create table m_sync (id int primary key)')
    const c = cluster({ mode: 'sync', timeoutMillis: 300 })
    await c.ready()
    await run(c, 'insert into m_sync values (1)')
    expect(await mirrorNode().query('select id from m_sync')).toEqual([{ id: 1 }])
    await mirrorNode().freeze()
    let error: unknown
    try {
      await run(c, 'insert into m_sync values (2)')
    } catch (caught) {
      error = caught
    } finally {
      await mirrorNode().thaw()
    }
    expect(error).toBeInstanceOf(CausewayError)
    expect((error as CausewayError).code).toBe('MIRROR_NOT_APPLIED')
    expect((error as CausewayError).node).toBe('mirror')
    expect((error as Error).message).toMatch(/committed on the primary.*"mirror"/)
    expect((error as Error).message).not.toMatch(/fail/i)
    expect(await source.primary.query('select id from m_sync order by id')).toEqual([{ id: 1 }, { id: 2 }])
    // Still queued: applied once the mirror answers.
    await drained(c)
    expect(await mirrorNode().query('select id from m_sync order by id')).toEqual([{ id: 1 }, { id: 2 }])
  })

  it('flags a volatile statement, and refuses it before it runs with volatile: refuse', async () => {
    await createOnBoth('create table m_volatile (id int primary key, at timestamptz)')
    const flagging = cluster()
    const flagged = collect(flagging, 'mirror-nondeterministic')
    await flagging.ready()
    await run(flagging, 'insert into m_volatile values (1, now())')
    await run(flagging, 'insert into m_volatile values (2, $1)', [new Date()])
    expect(flagged).toEqual([
      expect.objectContaining({ functions: ['now'], refused: false, mirrors: ['mirror'] }),
    ])
    expect(mirrorStatus(flagging).nondeterministic).toBe(1)

    const refusing = cluster({ volatile: 'refuse' })
    await refusing.ready()
    await expect(run(refusing, 'insert into m_volatile values (3, clock_timestamp())')).rejects.toMatchObject(
      {
        code: 'MIRROR_REFUSED',
      },
    )
    await expect(
      transaction(refusing, async (exec) => {
        await exec('update m_volatile set at = current_timestamp where id = 1')
      }),
    ).rejects.toMatchObject({ code: 'MIRROR_REFUSED' })
    await run(refusing, 'insert into m_volatile values (4, $1)', [new Date(0)])
    // Refused means run nowhere: not on the primary either.
    expect(await source.primary.query('select id from m_volatile order by id')).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 4 },
    ])
  })

  it('a write the mirror rejects (a unique index only there) marks it out of sync, with the error visible', async () => {
    await createOnBoth('create table m_unique (id int primary key, email text)')
    await mirrorNode().query('create unique index on m_unique (email)')
    const c = cluster()
    const outOfSync = collect(c, 'mirror-out-of-sync')
    const divergence = collect(c, 'mirror-divergence')
    await c.ready()
    await run(c, 'insert into m_unique values (1, $1)', ['a@x'])
    await run(c, 'insert into m_unique values (2, $1)', ['a@x'])
    await run(c, 'insert into m_unique values (3, $1)', ['b@x'])
    await eventually(() => mirrorStatus(c).state === 'out-of-sync', 'the mirror to go out of sync')
    expect(outOfSync).toEqual([expect.objectContaining({ mirror: 'mirror', reason: 'divergence' })])
    expect(divergence[0]?.error).toMatch(/duplicate key/)
    const status = mirrorStatus(c)
    expect(status.lastError).toMatch(/duplicate key/)
    // Nothing dropped silently: the rejected write and the one after it are counted.
    await eventually(() => mirrorStatus(c).notApplied === 2, 'both writes counted as not applied')
    expect(status.applied).toBe(1)
    expect(await source.primary.query('select count(*)::int as n from m_unique')).toEqual([{ n: 3 }])
  })

  it('validates mirrors at construction without echoing a password', () => {
    const bad = () =>
      createCluster({ primary: source.primary.url, mirrors: [{ url: 'mysql://app:hunter2secret@db/app' }] })
    expect(bad).toThrow(/mirrors\[0\]\.url: must be a postgres:\/\/ URL/)
    expect(bad).not.toThrow(/hunter2secret/)
    expect(() =>
      createCluster({
        primary: source.primary.url,
        mirrors: [{ url: mirrorNode().url, mode: 'sync', durable: true }],
      }),
    ).toThrow(/mirrors\[0\]\.durable/)
    expect(() =>
      createCluster({ primary: source.primary.url, mirrors: [{ url: mirrorNode().url, gatherMillis: -1 }] }),
    ).toThrow(/mirrors\[0\]\.gatherMillis/)
    expect(() =>
      createCluster({
        primary: source.primary.url,
        mirrors: [{ url: mirrorNode().url, durable: true, order: 'acknowledgement' }],
      }),
    ).toThrow(/mirrors\[0\]\.order: is 'acknowledgement' on a durable mirror/)
  })

  it('replays at once with gatherMillis: 0, and within about gatherMillis otherwise', async () => {
    await createOnBoth('create table m_gather (id int primary key)')
    const now = cluster({ gatherMillis: 0 }, {})
    const later = createCluster({
      primary: { connectionString: source.primary.url, name: source.primary.name },
      mirrors: [{ url: mirrorNode().url, name: 'later', gatherMillis: 400 }],
    })
    open.push(later)
    await Promise.all([now.ready(), later.ready()])
    await run(now, 'insert into m_gather values ($1)', [1])
    await eventually(() => mirrorStatus(now).applied === 1, 'the write to be replayed at once', 1_000)
    const started = performance.now()
    await run(later, 'insert into m_gather values ($1)', [2])
    // Queued, not replayed yet: the replay gathers for 400 ms.
    await sleep(150)
    expect(later.status().mirrors![0]).toMatchObject({ applied: 0, backlogStatements: 1 })
    await eventually(
      () => later.status().mirrors![0]!.applied === 1,
      'the gathered write to be replayed',
      5_000,
    )
    expect(performance.now() - started).toBeGreaterThanOrEqual(390)
    expect(await mirrorNode().query('select id from m_gather order by id')).toEqual([{ id: 1 }, { id: 2 }])
  })
})

describe('statement mirrors, durable', () => {
  it("replays 8 concurrent writers on one row in the primary's commit order: every table ends identical", async () => {
    await createOnBoth('create table dm_acc (id int primary key, v numeric not null)')
    await createOnBoth('create table dm_log (writer int, i int, note text, primary key (writer, i))')
    const c = cluster({ durable: true })
    await c.ready()
    // Cannot run in a transaction block, so its outbox row could not commit with it: refused, not run.
    await expect(run(c, 'vacuum dm_acc')).rejects.toMatchObject({ code: 'MIRROR_REFUSED' })
    // A write the primary rejects leaves no outbox row.
    await source.primary.query('insert into dm_log values (-1, -1, $1)', ['x'])
    await expect(run(c, 'insert into dm_log values ($1, $2, $3)', [-1, -1, 'y'])).rejects.toMatchObject({
      code: '23505',
    })
    await source.primary.query('delete from dm_log where writer = -1')
    await eightWriters(c, 'dm_acc', 'dm_log', true)
    await outboxRelayed()
    await drained(c)
    const report = await c.compareMirror('mirror', { tables: ['dm_acc', 'dm_log'] })
    expect(report.tables.map((t) => [t.table, t.primaryRows, t.equal])).toEqual([
      ['dm_acc', 1, true],
      ['dm_log', 8 * 20, true],
    ])
    expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', failed: 0 })
  })

  it('loses nothing and applies nothing twice when the app process is SIGKILLed mid-load and restarted', async () => {
    await createOnBoth('create table d_rows (id int primary key)')
    await createOnBoth('create table d_acc (id int primary key, v numeric not null, n int not null)')
    await source.primary.query('insert into d_acc values (1, 1, 0)')
    await mirrorNode().query('insert into d_acc values (1, 1, 0)')
    const env = { PRIMARY_URL: source.primary.url, MIRROR_URL: mirrorNode().url }
    const first = new AppProcess('durable-mirror-writer.ts', { ...env, BASE: '0' })
    await first.waitForLine((line) => line.ready === true, 'the first app process to start')
    await first.waitForLine((line) => Number(line.ack) >= 300, 'some committed transactions')
    await first.kill()
    const second = new AppProcess('durable-mirror-writer.ts', { ...env, BASE: '1000000', WRITERS: '1' })
    await second.waitForLine((line) => Number(line.ack) >= 1_000_020, 'the restarted app process to write')
    expect(await second.stop()).toBe(0)
    const c = cluster({ durable: true })
    await c.ready()
    await outboxRelayed()
    const report = await c.compareMirror('mirror', { tables: ['d_rows', 'd_acc'] })
    expect(report.tables.map((t) => [t.table, t.equal])).toEqual([
      ['d_rows', true],
      ['d_acc', true],
    ])
    // d_acc.v = v * 3 + id does not commute and d_acc.n counts: a row applied twice, or
    // out of order, or skipped, shows in the checksum above.
    expect(report.tables[0]!.primaryRows).toBeGreaterThan(300)
    expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', failed: 0 })
  })
})

// Named prepared statements meet a transaction-mode pooler on both sides: the
// primary's position read and the mirror's replayed statements are named on their
// sessions, and PgBouncer hands each transaction to any of its server connections.
const pgbouncer = pgbouncerAvailable()
describe.skipIf(!pgbouncer.ok)(
  titled(
    'statement mirrors, in memory, with the primary and the mirror behind PgBouncer (transaction mode)',
    pgbouncer,
  ),
  () => {
    const bouncers: RunningProxy[] = []
    afterAll(async () => {
      await Promise.allSettled(bouncers.map((bouncer) => bouncer.close()))
    })

    it('8 writers on one row through round-robin poolers: named statements go missing, the mirror ends identical, nothing lost', async () => {
      await createOnBoth('create table pb_acc (id int primary key, v numeric not null)')
      await createOnBoth('create table pb_log (writer int, i int, note text, primary key (writer, i))')
      const [primary, mirror] = await Promise.all(
        [source.primary.url, mirrorNode().url].map((url) =>
          // Round robin: each transaction goes to the next server connection, so a
          // named statement made on one is missing on the next.
          startPgbouncer({
            backend: backendOf(url),
            poolMode: 'transaction',
            poolSize: 4,
            settings: { server_round_robin: 1, min_pool_size: 4 },
            ...loginOf(url),
          }),
        ),
      )
      bouncers.push(primary!, mirror!)
      const c = createCluster({
        primary: { connectionString: primary!.urlFor(source.primary.url), name: 'pooled' },
        // Replayed at once, so that many replays go through the pooler.
        mirrors: [{ url: mirror!.urlFor(mirrorNode().url), name: 'mirror', gatherMillis: 0 }],
      })
      open.push(c)
      await c.ready()
      await eightWriters(c, 'pb_acc', 'pb_log', true)
      // A text not seen yet, in replays of their own: the second one's session (the
      // next server connection) lacks the statement the first one made.
      for (const k of [1, 2, 3]) {
        await drained(c)
        await run(c, 'update pb_acc set v = v + $1 where id = $2', [k, 1])
      }
      await drained(c)
      const report = await c.compareMirror('mirror', { tables: ['pb_acc', 'pb_log'] })
      expect(report.tables.map((t) => [t.table, t.primaryRows, t.equal])).toEqual([
        ['pb_acc', 1, true],
        ['pb_log', 8 * 20, true],
      ])
      // A named statement another server connection lacked failed a replay, which was
      // retried (then unnamed), never dropped.
      expect(mirrorStatus(c)).toMatchObject({ state: 'in-sync', notApplied: 0 })
      expect(mirrorStatus(c).failed).toBeGreaterThan(0)
      expect(mirrorStatus(c).lastError).toMatch(/prepared statement "causeway_[0-9a-f]{40}" does not exist/)
    })
  },
)

describe('statement mirrors, in memory, on a primary that refuses the position function', () => {
  it('writes and transactions commit once and are mirrored; the refusal is reported', async () => {
    await createOnBoth('create table rf_rows (id int primary key)')
    const role = 'mirror_plain'
    const password = 'mirror-plain-1'
    await source.primary.query(`create role ${role} login password '${password}'`)
    await source.primary.query(`grant select, insert, update, delete on rf_rows to ${role}`)
    const plain = new URL(source.primary.url)
    plain.username = role
    plain.password = password
    await source.primary.query('revoke execute on function pg_current_wal_insert_lsn() from public')
    try {
      const c = createCluster({
        primary: { connectionString: plain.toString(), name: 'plain' },
        mirrors: [{ url: mirrorNode().url, name: 'mirror' }],
      })
      open.push(c)
      const refused = collect(c, 'function-refused')
      await c.ready()
      // A transaction first: its COMMIT reads the position in a savepoint, and commits without it.
      await transaction(c, async (exec) => {
        await exec('insert into rf_rows values ($1)', [1])
      })
      await run(c, 'insert into rf_rows values ($1)', [2])
      await transaction(c, async (exec) => {
        await exec('insert into rf_rows values ($1)', [3])
      })
      await drained(c)
      expect(await source.primary.query('select id from rf_rows order by id')).toEqual([
        { id: 1 },
        { id: 2 },
        { id: 3 },
      ])
      const report = await c.compareMirror('mirror', { tables: ['rf_rows'] })
      expect(report.tables[0]).toMatchObject({ primaryRows: 3, equal: true })
      await eventually(() => refused.length > 0, 'the refusal to be reported', 5_000)
      expect(refused[0]).toMatchObject({
        node: 'plain',
        function: 'pg_current_wal_insert_lsn',
        sqlState: '42501',
      })
      expect(c.status().nodes.find((n) => n.name === 'plain')?.reason).toMatch(/pg_current_wal_insert_lsn/)
    } finally {
      await source.primary.query('grant execute on function pg_current_wal_insert_lsn() to public')
    }
  })
})
