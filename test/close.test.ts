// close() settles everything: statements running finish, statements still waiting
// for a connection fail as CLOSED (issue 15, item 3).
import { CausewayError } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterConfig } from './support/fixture.js'

let tc: TestCluster

beforeAll(async () => {
  tc = await startCluster({ replicas: 1 })
  await tc.primary.query('create table closing (id serial primary key, n int)')
})
afterAll(() => tc?.close())

describe('db.destroy() with queries queued for a connection', () => {
  // Regression: with 50 queries in flight, 20 (15 reads, 5 writes) never settled:
  // pg-pool's end() drops the checkouts waiting for a connection.
  it('settles every one: the running ones complete, the queued ones fail as CLOSED and were not sent', async () => {
    const db = new Kysely<{ closing: { id: number; n: number } }>({
      dialect: new CausewayDialect({ ...clusterConfig(tc), pool: { max: 2 } }),
    })
    await sql`select 1`.execute(db)
    const before = Number((await tc.primary.query<{ c: string }>('select count(*) as c from closing'))[0]!.c)
    const queries = Array.from({ length: 50 }, (_, i) =>
      i % 4 === 0
        ? sql`insert into closing (n) select ${i} from pg_sleep(0.05)`.execute(db)
        : sql`select pg_sleep(0.05), ${i}::int as n`.execute(db),
    )
    const outcomes = Promise.allSettled(queries)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await db.destroy()
    const settled = await Promise.race([
      outcomes,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000)),
    ])
    expect(settled).not.toBe('hung')
    const results = settled as PromiseSettledResult<unknown>[]
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(failed.length).toBeGreaterThan(0)
    for (const { reason } of failed) {
      expect(reason).toBeInstanceOf(CausewayError)
      expect((reason as CausewayError).code).toBe('CLOSED')
    }
    // Exactly the writes that succeeded are in the table: a CLOSED write was not sent.
    const writesDone = results.filter((r, i) => i % 4 === 0 && r.status === 'fulfilled').length
    const after = Number((await tc.primary.query<{ c: string }>('select count(*) as c from closing'))[0]!.c)
    expect(after - before).toBe(writesDone)
  })
})
