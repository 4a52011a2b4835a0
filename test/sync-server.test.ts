import type { Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from './support/fixture.js'

interface DB {
  notes: { id: Generated<number>; body: string }
}

let f: Fixture<DB>
beforeAll(async () => {
  f = await setupFixture<DB>({
    cluster: { syncStandbys: 2 },
    config: { sync: { method: 'server' }, consistency: { scope: 'session' } },
  })
  await f.cluster.primary.query('create table notes (id serial primary key, body text not null)')
})
afterAll(() => f.close())

describe("sync: { method: 'server' }", () => {
  it('makes the primary wait for its synchronous standbys to apply each commit (remote_apply)', async () => {
    const [setting] = await f.db
      .selectNoFrom((eb) => eb.fn<string>('current_setting', [eb.val('synchronous_commit')]).as('value'))
      .execute()
    expect(setting?.value).toBe('remote_apply')
    for (let i = 0; i < 20; i++) {
      const { id } = await f.db
        .insertInto('notes')
        .values({ body: `n${i}` })
        .returning('id')
        .executeTakeFirstOrThrow()
      for (const replica of f.cluster.replicas) {
        expect(await replica.query('select body from notes where id = $1', [id])).toEqual([{ body: `n${i}` }])
      }
    }
  })
})
