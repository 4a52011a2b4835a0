// Kysely's `log` (and anything else that wraps `executeQuery`) sees a transaction's
// BEGIN, COMMIT and ROLLBACK with CausewayDialect exactly as with PostgresDialect,
// while the router still places the transaction and captures its token.
// Also run against the lowest supported Kysely (the `kysely-lowest` vitest project).
import type { ClusterEvents } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster } from '@causeway/testing'
import * as kysely from 'kysely'
import { CompiledQuery, type Generated, Kysely, type LogEvent, sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { transactionControlOf } from '../src/transaction-control.js'

interface DB {
  notes: { id: Generated<number>; body: string }
}

let cluster: TestCluster
let dialect: CausewayDialect
let db: Kysely<DB>
let logged: string[] = []

const servedBy = sql<number>`inet_server_port()`.as('served_by')
const role = (port: number) => (port === cluster.primary.port ? 'primary' : 'replica')

beforeAll(async () => {
  cluster = await startCluster()
  await cluster.primary.query('create table notes (id serial primary key, body text not null)')
  dialect = new CausewayDialect({
    primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    consistency: { scope: 'session' },
  })
  db = new Kysely<DB>({
    dialect,
    log: (event: LogEvent) => {
      if (event.level === 'query') logged.push(event.query.sql)
    },
  })
  // Every replica must have the table before a transaction reads it there.
  await dialect.cluster.session(async () => {
    await db.insertInto('notes').values({ body: 'warm-up' }).execute()
    for (let i = 0; i < cluster.replicas.length * 2; i++) await db.selectFrom('notes').select('id').execute()
  })
})
beforeEach(() => {
  logged = []
})
afterAll(async () => {
  await db?.destroy()
  await cluster?.close()
})

it('runs on the Kysely of its vitest project (kysely-lowest: one without AbortedTransactionError)', () => {
  expect('AbortedTransactionError' in kysely).toBe(process.env.KYSELY_UNDER_TEST !== 'lowest')
})

describe("Kysely's log sees transaction control", () => {
  it('begin … commit', async () => {
    await db.transaction().execute((tx) => tx.insertInto('notes').values({ body: 'a' }).execute())
    expect(logged).toEqual(['begin', 'insert into "notes" ("body") values ($1)', 'commit'])
  })

  it('begin … rollback when the callback throws; nothing is left behind', async () => {
    await expect(
      db.transaction().execute(async (tx) => {
        await tx.insertInto('notes').values({ body: 'rolled back' }).execute()
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(logged).toEqual(['begin', 'insert into "notes" ("body") values ($1)', 'rollback'])
    const left = await cluster.primary.query(
      "select count(*)::int as n from notes where body = 'rolled back'",
    )
    expect(left).toEqual([{ n: 0 }])
  })

  it.each([
    ['read committed', 'read write'],
    ['repeatable read', 'read only'],
    ['serializable', 'read only'],
  ] as const)('start transaction isolation level %s %s', async (isolationLevel, accessMode) => {
    await db
      .transaction()
      .setIsolationLevel(isolationLevel)
      .setAccessMode(accessMode)
      .execute((tx) => tx.selectFrom('notes').select('id').limit(1).execute())
    expect(logged).toEqual([
      `start transaction isolation level ${isolationLevel} ${accessMode}`,
      'select "id" from "notes" limit $1',
      'commit',
    ])
  })

  it('controlled transactions: commit and rollback', async () => {
    const committed = await db.startTransaction().setAccessMode('read write').execute()
    await committed.insertInto('notes').values({ body: 'controlled' }).execute()
    await committed.commit().execute()
    const rolledBack = await db.startTransaction().execute()
    await rolledBack.rollback().execute()
    expect(logged).toEqual([
      'start transaction read write',
      'insert into "notes" ("body") values ($1)',
      'commit',
      'begin',
      'rollback',
    ])
  })
})

describe('transaction control through executeQuery keeps routing', () => {
  it('a read only, non-serializable transaction runs on one replica; a serializable one on the primary', async () => {
    const onReplica = await db
      .transaction()
      .setAccessMode('read only')
      .execute((tx) => tx.selectFrom('notes').select(servedBy).limit(1).executeTakeFirstOrThrow())
    const serializable = await db
      .transaction()
      .setAccessMode('read only')
      .setIsolationLevel('serializable')
      .execute((tx) => tx.selectFrom('notes').select(servedBy).limit(1).executeTakeFirstOrThrow())
    expect([role(onReplica.served_by), role(serializable.served_by)]).toEqual(['replica', 'primary'])
  })

  it("a session reads a transaction's write back after COMMIT (its token is captured)", async () => {
    const body = `committed-${Date.now()}`
    const seen = await dialect.cluster.session(async () => {
      await db.transaction().execute((tx) => tx.insertInto('notes').values({ body }).execute())
      return db.selectFrom('notes').select(['body', servedBy]).where('body', '=', body).execute()
    })
    expect(seen.map((r) => r.body)).toEqual([body])
  })

  it('a COMMIT that PostgreSQL completes as ROLLBACK is an AbortedTransactionError', async () => {
    const tx = await db.startTransaction().execute()
    await expect(sql`select 1 / 0`.execute(tx)).rejects.toMatchObject({ code: '22012' })
    const error = await tx
      .commit()
      .execute()
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      )
    // By name and message: on Kysely < 0.28.19 the class is the plugin's own.
    expect(error).toMatchObject({
      name: 'AbortedTransactionError',
      message: 'Transaction was rolled back instead of committed',
    })
    await tx.rollback().execute()
  })

  it('the statement event tags transaction control on the primary as a write, on a replica as a read', async () => {
    const seen: string[] = []
    const off = dialect.cluster.on('statement', (e: ClusterEvents['statement']) => {
      if (/^(begin|start|commit|rollback)/.test(e.statement))
        seen.push(`${e.statement} ${e.role} ${e.intent}`)
    })
    try {
      await db.transaction().execute((tx) => tx.selectFrom('notes').select('id').limit(1).execute())
      await db
        .transaction()
        .setAccessMode('read only')
        .execute((tx) => tx.selectFrom('notes').select('id').limit(1).execute())
    } finally {
      off()
    }
    expect(seen).toEqual([
      'begin primary write',
      'commit primary write',
      'start transaction read only replica read',
      'commit replica read',
    ])
  })

  it("a user's own raw `begin` is not taken for the driver's", () => {
    expect(transactionControlOf(CompiledQuery.raw('begin'))).toBeUndefined()
  })
})
