import { onPrimary } from '@causeway/kysely'
import { CamelCasePlugin, type Generated, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { createMigrator } from './support/migrator.js'

interface DB {
  items: { id: Generated<number>; label: string; created_by: string | null }
}

let f: Fixture<DB>
function role(port: number | undefined): 'primary' | 'replica' {
  const name = f.nodeAt(Number(port))
  if (name.startsWith('unknown')) throw new Error(`no node serves port ${port}`)
  return name === 'pg1' ? 'primary' : 'replica'
}

beforeAll(async () => {
  // Reads outside a session carry no token here, so they are about routing alone.
  f = await setupFixture<DB>({ config: { consistency: { scope: 'session' } } })
  await f.cluster.primary.query(
    'create table items (id serial primary key, label text not null, created_by text)',
  )
  await f.cluster.primary.query(`insert into items (label) select 'item ' || i from generate_series(1, 50) i`)
  await f.dialect.cluster.ready()
  // The replicas must have the table before the tests read it.
  await f.dialect.cluster.session(async () => {
    await f.db.insertInto('items').values({ label: 'warm-up' }).execute()
    await f.db.selectFrom('items').select('id').execute()
  })
})
afterAll(() => f.close())

describe('transactions', () => {
  it('run on the primary, reads included', async () => {
    const ports = await f.db.transaction().execute(async (tx) => {
      const [read] = await tx.selectFrom('items').select(servedBy()).limit(1).execute()
      const [written] = await tx.insertInto('items').values({ label: 'tx' }).returning(servedBy()).execute()
      return [read!.served_by, written!.served_by]
    })
    expect(ports.map(role)).toEqual(['primary', 'primary'])
  })

  it('run a read only, non-serializable transaction on one replica', async () => {
    const ports = await f.db
      .transaction()
      .setAccessMode('read only')
      .execute(async (tx) => {
        const a = await tx.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow()
        const b = await tx.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow()
        return [a.served_by, b.served_by]
      })
    expect(ports.map(role)).toEqual(['replica', 'replica'])
    expect(ports[0]).toBe(ports[1])
  })

  it('keep a serializable read only transaction on the primary', async () => {
    const port = await f.db
      .transaction()
      .setAccessMode('read only')
      .setIsolationLevel('serializable')
      .execute(
        async (tx) => (await tx.selectFrom('items').select(servedBy()).executeTakeFirstOrThrow()).served_by,
      )
    expect(role(port)).toBe('primary')
  })

  it('support savepoints: a rolled-back savepoint undoes only its part', async () => {
    const label = `sp-${Date.now()}`
    const tx = await f.db.startTransaction().execute()
    await tx.insertInto('items').values({ label, created_by: 'kept' }).execute()
    const inner = await tx.savepoint('inner').execute()
    await inner.insertInto('items').values({ label, created_by: 'undone' }).execute()
    const released = await inner.rollbackToSavepoint('inner').execute()
    const kept = await released.savepoint('kept').execute()
    await kept.insertInto('items').values({ label, created_by: 'kept too' }).execute()
    await kept.releaseSavepoint('kept').execute()
    await tx.commit().execute()
    const rows = await f.db
      .selectFrom('items')
      .select('created_by')
      .where('label', '=', label)
      .withPlugin(onPrimary)
      .execute()
    expect(rows.map((r) => r.created_by).sort()).toEqual(['kept', 'kept too'])
  })

  it('roll back on error, leaving nothing behind', async () => {
    const label = `rolled-back-${Date.now()}`
    await expect(
      f.db.transaction().execute(async (tx) => {
        await tx.insertInto('items').values({ label }).execute()
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    const rows = await f.db
      .selectFrom('items')
      .where('label', '=', label)
      .selectAll()
      .withPlugin(onPrimary)
      .execute()
    expect(rows).toEqual([])
  })

  // Regression: Kysely rolls back after a failed COMMIT, and that rollback used to
  // throw "no transaction is open", hiding the COMMIT's own error.
  it('surface a COMMIT’s own error (a deferred constraint), not one from the rollback after it', async () => {
    await f.cluster.primary.query(
      'create table if not exists deferred (k int, constraint deferred_k unique (k) deferrable initially deferred)',
    )
    const error = await f.db
      .transaction()
      .execute(async (tx) => {
        await sql`insert into deferred values (1), (1)`.execute(tx)
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(error).toMatchObject({ code: '23505', constraint: 'deferred_k' })
  })

  it('keep pg’s own error for a failing statement, SQLSTATE intact', async () => {
    await expect(f.db.insertInto('items').values({ id: 1, label: 'dup' }).execute()).rejects.toMatchObject({
      code: '23505',
    })
  })
})

describe('db.connection()', () => {
  it('binds lazily: a read on a replica, then a write moves it to the primary for good', async () => {
    const ports = await f.db.connection().execute(async (conn) => {
      const first = (await conn.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow())
        .served_by
      const write = (
        await conn
          .insertInto('items')
          .values({ label: 'conn' })
          .returning(servedBy())
          .executeTakeFirstOrThrow()
      ).served_by
      const after = (await conn.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow())
        .served_by
      return [first, write, after]
    })
    expect(ports.map(role)).toEqual(['replica', 'primary', 'primary'])
  })

  it('keeps session state on the primary once there', async () => {
    const value = await f.db.connection().execute(async (conn) => {
      await sql`set application_name = 'causeway-test'`.execute(conn)
      return (await sql<{ name: string }>`select current_setting('application_name') as name`.execute(conn))
        .rows[0]?.name
    })
    expect(value).toBe('causeway-test')
  })
})

describe('hints', () => {
  it('onPrimary sends one query to the primary and leaves the next alone', async () => {
    const forced = await f.db
      .selectFrom('items')
      .select(servedBy())
      .limit(1)
      .withPlugin(onPrimary)
      .executeTakeFirstOrThrow()
    const plain = await f.db.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow()
    expect(role(forced.served_by)).toBe('primary')
    expect(role(plain.served_by)).toBe('replica')
  })

  it('cluster.onPrimary survives withoutPlugins(), so a Migrator runs on the primary', async () => {
    const before = servedCounts()
    const migrator = await createMigrator({
      db: f.db,
      provider: {
        getMigrations: async () => ({
          '001_tags': {
            up: async (db) => {
              await db.schema
                .createTable('tags')
                .addColumn('id', 'serial', (c) => c.primaryKey())
                .execute()
            },
          },
        }),
      },
    })
    const { error, results } = await f.dialect.cluster.onPrimary(() => migrator.migrateToLatest())
    expect(error).toBeUndefined()
    expect(results?.map((r) => r.status)).toEqual(['Success'])
    const after = servedCounts()
    expect(after.pg1).toBeGreaterThan(before.pg1!)
    // The migrator's reads of its lock and history tables stayed on the primary too.
    expect(after.pg2! + after.pg3!).toBe(before.pg2! + before.pg3!)
    const tables = await f.dialect.cluster.onPrimary(() => f.db.introspection.getTables())
    expect(tables.map((t) => t.name)).toContain('tags')
  })

  it('composes with CamelCasePlugin', async () => {
    // CamelCasePlugin renames result keys: served_by comes back as servedBy.
    const camel = f.db.withPlugin(new CamelCasePlugin())
    const row = (await camel
      .selectFrom('items')
      .select(servedBy())
      .limit(1)
      .executeTakeFirstOrThrow()) as unknown as {
      servedBy: number
    }
    expect(role(row.servedBy)).toBe('replica')
    const [inserted] = (await camel
      .insertInto('items')
      .values({ label: 'camel' })
      .returning(servedBy())
      .execute()) as unknown as {
      servedBy: number
    }[]
    expect(role(inserted?.servedBy)).toBe('primary')
  })
})

describe('streaming', () => {
  it('streams a read from a replica through pg-cursor', async () => {
    const seen: number[] = []
    for await (const row of f.db.selectFrom('items').select(['id', servedBy()]).orderBy('id').stream(7)) {
      seen.push(row.served_by)
    }
    expect(seen.length).toBeGreaterThan(50)
    expect(new Set(seen.map(role))).toEqual(new Set(['replica']))
  })
})

function servedCounts(): Record<string, number> {
  return Object.fromEntries(f.dialect.cluster.status().nodes.map((n) => [n.name, n.served]))
}
