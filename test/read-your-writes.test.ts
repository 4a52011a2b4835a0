import { type ClusterEvents, MirrorTimeoutError } from '@causeway/core'
import { CausewayDialect, onPrimary } from '@causeway/kysely'
import type { ClusterNode } from '@causeway/testing'
import { type Generated, Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterConfig, coreCluster, type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { writeThenRead } from './support/notes.js'

interface DB {
  notes: { id: Generated<number>; body: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  f = await setupFixture<DB>()
  await f.cluster.primary.query('create table notes (id serial primary key, body text not null)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

const servedCount = (name: string) => f.nodeStatus(name).served

describe('read-your-writes', () => {
  it('a 5,000-iteration hunt over concurrent sessions finds no stale read, and reads once the token is known go to replicas', async () => {
    const sessions = 8
    const perSession = 625
    let stale = 0
    let afterToken = 0
    await Promise.all(
      Array.from({ length: sessions }, (_, s) =>
        f.dialect.cluster.session(async () => {
          for (let i = 0; i < perSession; i++) {
            // Every other read is sent once the write's token is known: a replica then
            // serves it, with the proof of freshness in its own flight. The others are
            // sent at once, while the token is being captured: on the primary.
            const pause = i % 2 === 1 ? () => f.dialect.cluster.token() : undefined
            const row = await writeThenRead(f.db, `s${s}-${i}`, undefined, pause)
            if (row?.body !== `s${s}-${i}`) stale++
            else if (pause && f.nodeAt(row.served_by) !== 'pg1') afterToken++
          }
        }),
      ),
    )
    expect(stale).toBe(0)
    expect(afterToken / ((sessions * perSession) / 2)).toBeGreaterThan(0.5)
  })

  // Regression: a write made while no read wanted tokens is left for its next
  // reader. When another session's read had turned eager capture on meanwhile, that
  // reader left it too, and every later read of the session went to the primary.
  it('a session whose write no one captured yet reads from replicas soon after its first read', async () => {
    const cluster = coreCluster(f.cluster)
    try {
      await cluster.ready()
      const readBack = (id: number) =>
        cluster.query<{ port: number }>('select inet_server_port() as port from notes where id = $1', [id])
      const insert = async () =>
        (await cluster.query<{ id: number }>(`insert into notes (body) values ('x') returning id`)).rows[0]!
          .id
      // A fresh cluster: no read has wanted a token yet, so A's write is not captured.
      let release = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const ports: number[] = []
      const sessionA = cluster.session(async () => {
        const a = await insert()
        await gate
        await readBack(a) // the primary: its token is not captured yet
        // Soon a replica serves the session (without the fix: never, until its next write).
        for (let i = 0; i < 40 && !ports.some((port) => port !== f.cluster.primary.port); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50))
          ports.push((await readBack(a)).rows[0]!.port)
        }
      })
      // Meanwhile B's read wants a token, which turns eager capture on.
      await cluster.session(async () => {
        await readBack(await insert())
      })
      release()
      await sessionA
      expect(ports.filter((port) => port !== f.cluster.primary.port).length).toBeGreaterThan(0)
    } finally {
      await cluster.close()
    }
  })

  it('never serves a session’s read from a paused replica after its write; another node does', async () => {
    const [paused, live] = f.cluster.replicas as [ClusterNode, ClusterNode]
    await paused.pauseReplay()
    try {
      await new Promise((resolve) => setTimeout(resolve, 600)) // let a probe see the pause
      const before = servedCount(paused.name)
      const servers = new Set<string>()
      for (let i = 0; i < 50; i++) {
        await f.dialect.cluster.session(async () => {
          const { id } = await f.db
            .insertInto('notes')
            .values({ body: 'p' })
            .returning('id')
            .executeTakeFirstOrThrow()
          // Once the token is known, a replica may serve the read.
          await f.dialect.cluster.token()
          const row = await f.db
            .selectFrom('notes')
            .select(['id', servedBy()])
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
          servers.add(f.nodeAt(row.served_by))
        })
      }
      expect(servers.has(paused.name)).toBe(false)
      expect(servers.has(live.name)).toBe(true)
      expect(servedCount(paused.name)).toBe(before)
    } finally {
      await paused.resumeReplay()
    }
  })

  // A stream and a read-only transaction cannot carry the check in their own flight:
  // each proves freshness first, on the connection it will use. With every replica
  // paused, both must find the session's write, from the primary.
  it('a stream and a read-only transaction after a write see it, with every replica paused', async () => {
    for (const replica of f.cluster.replicas) await replica.pauseReplay()
    try {
      await f.dialect.cluster.checkHealth()
      await f.dialect.cluster.session(async () => {
        const { id } = await f.db
          .insertInto('notes')
          .values({ body: 'streamed' })
          .returning('id')
          .executeTakeFirstOrThrow()
        await f.dialect.cluster.token()
        const streamed: string[] = []
        for await (const row of f.db.selectFrom('notes').select('body').where('id', '=', id).stream(10)) {
          streamed.push(row.body)
        }
        expect(streamed).toEqual(['streamed'])
        const inTransaction = await f.db
          .transaction()
          .setAccessMode('read only')
          .execute((trx) => trx.selectFrom('notes').select('body').where('id', '=', id).executeTakeFirst())
        expect(inTransaction?.body).toBe('streamed')
      })
    } finally {
      for (const replica of f.cluster.replicas) await replica.resumeReplay()
    }
  })

  // Found by running Kysely's own suite through the dialect: parallel Migrators.
  // One's insert fails on the other's row (23505), and its check again read a
  // replica that had not replayed that row, so the migration failed. A write that
  // the primary rejects has seen its committed state: it is captured like a write.
  it('after a write the primary rejects (a unique violation), a read sees what it collided with', async () => {
    await f.cluster.primary.query('create table if not exists locks (id text primary key)')
    for (const replica of f.cluster.replicas) await replica.pauseReplay()
    try {
      await f.dialect.cluster.checkHealth() // the probes see the pauses
      await f.dialect.cluster.session(async () => {
        // Another process takes the lock: committed on the primary, on no replica yet.
        await f.cluster.primary.query(`insert into locks values ('migration')`)
        const error = await f.dialect.cluster
          .query(`insert into locks values ('migration')`)
          .catch((e: unknown) => e)
        expect((error as { code?: string }).code).toBe('23505')
        const { rows } = await f.dialect.cluster.query(`select id from locks where id = 'migration'`)
        expect(rows).toHaveLength(1)
      })
    } finally {
      for (const replica of f.cluster.replicas) await replica.resumeReplay()
    }
  })

  it('carries a token to another Kysely instance, which then reads the write', async () => {
    const other = new CausewayDialect(clusterConfig(f.cluster, { consistency: { scope: 'session' } }))
    const otherDb = new Kysely<DB>({ dialect: other })
    const [paused] = f.cluster.replicas as [ClusterNode]
    await paused.pauseReplay()
    try {
      await other.cluster.ready()
      const { id, token } = await f.dialect.cluster.session(async () => {
        const row = await f.db
          .insertInto('notes')
          .values({ body: 'handed over' })
          .returning('id')
          .executeTakeFirstOrThrow()
        return { id: row.id, token: await f.dialect.cluster.token() }
      })
      expect(token).toMatch(/^cw1\./)
      const row = await other.cluster.session(
        () =>
          otherDb.selectFrom('notes').select(['body', servedBy()]).where('id', '=', id).executeTakeFirst(),
        { token },
      )
      expect(row?.body).toBe('handed over')
      expect(f.nodeAt(row!.served_by)).not.toBe(paused.name)
    } finally {
      await paused.resumeReplay()
      await otherDb.destroy()
    }
  })

  it('a session that only reads goes to replicas without waiting', async () => {
    const before = f.dialect.cluster.status()
    const servers = await f.dialect.cluster.session(async () => {
      const names: string[] = []
      for (let i = 0; i < 20; i++) {
        names.push(
          f.nodeAt(
            (await f.db.selectFrom('notes').select(servedBy()).limit(1).executeTakeFirstOrThrow()).served_by,
          ),
        )
      }
      return names
    })
    const after = f.dialect.cluster.status()
    expect(servers.every((name) => name !== 'pg1')).toBe(true)
    expect(after.replayWaits).toBe(before.replayWaits)
  })

  // Regression: a nested session started empty and kept its writes to itself.
  it('shares tokens between a session and a session nested in it, both ways', async () => {
    const [paused] = f.cluster.replicas as [ClusterNode]
    await paused.pauseReplay()
    try {
      await f.dialect.cluster.session(async () => {
        const outer = await f.db
          .insertInto('notes')
          .values({ body: 'outer' })
          .returning('id')
          .executeTakeFirstOrThrow()
        const inner = await f.dialect.cluster.session(async () => {
          // The inner session sees the outer write…
          const seen = await f.db
            .selectFrom('notes')
            .select('body')
            .where('id', '=', outer.id)
            .executeTakeFirst()
          expect(seen?.body).toBe('outer')
          return f.db.insertInto('notes').values({ body: 'inner' }).returning('id').executeTakeFirstOrThrow()
        })
        // …and the outer one sees the inner write.
        const row = await f.db
          .selectFrom('notes')
          .select(['body', servedBy()])
          .where('id', '=', inner.id)
          .executeTakeFirst()
        expect(row?.body).toBe('inner')
        expect(f.nodeAt(row!.served_by)).not.toBe(paused.name)
      })
    } finally {
      await paused.resumeReplay()
    }
  })

  // Regression: a read forced to the primary (it may call a function that writes) captured nothing.
  it('captures a token after a read forced to the primary', async () => {
    const token = await f.dialect.cluster.session(async () => {
      await f.db.selectFrom('notes').select('id').limit(1).withPlugin(onPrimary).execute()
      return f.dialect.cluster.token()
    })
    expect(token).toMatch(/^cw1\./)
  })

  it('rejects a malformed token with a clear error, never a silent stale read', async () => {
    let ran = false
    await expect(
      f.dialect.cluster.session(
        async () => {
          ran = true
        },
        { token: 'cw1.not-a-token' },
      ),
    ).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    expect(ran).toBe(false)
  })
})

describe('synchronous mirroring', () => {
  it("with 'all', every replica already has the row when the write returns", async () => {
    for (let i = 0; i < 20; i++) {
      const { id } = await f.dialect.cluster.session(
        () =>
          f.db
            .insertInto('notes')
            .values({ body: `mirrored ${i}` })
            .returning('id')
            .executeTakeFirstOrThrow(),
        { sync: { replicas: 'all', timeoutMs: 2_000 } },
      )
      for (const replica of f.cluster.replicas) {
        expect(await replica.query('select body from notes where id = $1', [id])).toEqual([
          { body: `mirrored ${i}` },
        ])
      }
    }
  })

  it('times out with the documented error when a replica is paused, and the row is on the primary', async () => {
    const [paused] = f.cluster.replicas as [ClusterNode]
    await paused.pauseReplay()
    const timeouts: ClusterEvents['mirror-timeout'][] = []
    const off = f.dialect.cluster.on('mirror-timeout', (e) => timeouts.push(e))
    try {
      const body = `unmirrored ${Date.now()}`
      const error = await f.dialect.cluster
        .session(() => f.db.insertInto('notes').values({ body }).execute(), {
          sync: { replicas: 'all', timeoutMs: 200 },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error).toBeInstanceOf(MirrorTimeoutError)
      expect(error).toMatchObject({ code: 'MIRROR_TIMEOUT', required: 2 })
      expect((error as Error).message).toMatch(
        /committed on the primary .* not yet mirrored: 1 of 2 replicas/,
      )
      expect(await f.cluster.primary.query('select 1 from notes where body = $1', [body])).toHaveLength(1)
      expect(timeouts).toHaveLength(1)
      // onTimeout: 'continue' returns normally and only reports.
      await f.dialect.cluster.session(() => f.db.insertInto('notes').values({ body: 'x' }).execute(), {
        sync: { replicas: 'all', timeoutMs: 100, onTimeout: 'continue' },
      })
      expect(timeouts).toHaveLength(2)
    } finally {
      off()
      await paused.resumeReplay()
    }
  })
})
