import { CausewayError, type ClusterEvents } from '@causeway/core'
import type { ClusterNode } from '@causeway/testing'
import type { Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

interface DB {
  events: { id: Generated<number>; body: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  f = await setupFixture<DB>({ config: { health: { intervalMillis: 100 }, failover: 'follow' } })
  await f.cluster.primary.query('create table events (id serial primary key, body text not null)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

const DOCUMENTED = new Set(['NODE_UNAVAILABLE', 'NO_PRIMARY', 'WRITE_OUTCOME_UNKNOWN'])

describe("failover: 'follow'", () => {
  it('follows an outside promotion: writes resume there, the old primary is fenced, an old token reads the new primary', async () => {
    const [promoted] = f.cluster.replicas as [ClusterNode]
    const oldPrimary = f.cluster.primary
    const staleTokens: ClusterEvents['stale-token'][] = []
    f.dialect.cluster.on('stale-token', (e) => staleTokens.push(e))
    const oldToken = await f.dialect.cluster.session(async () => {
      await f.db.insertInto('events').values({ body: 'before' }).execute()
      return f.dialect.cluster.token()
    })

    // A steady write load across the whole failover.
    let stop = false
    const errors: unknown[] = []
    const servedAfterPromotion: string[] = []
    let promotedAt = 0
    const writer = async () => {
      while (!stop) {
        try {
          const row = await f.db
            .insertInto('events')
            .values({ body: 'load' })
            .returning(servedBy())
            .executeTakeFirstOrThrow()
          if (promotedAt) servedAfterPromotion.push(f.nodeAt(row.served_by))
        } catch (error) {
          errors.push(error)
          await sleep(5)
        }
      }
    }
    const writers = Array.from({ length: 4 }, writer)
    try {
      await sleep(200)
      await oldPrimary.kill()
      await sleep(300)
      await promoted.promote()
      promotedAt = Date.now()
      await eventually(
        () => f.dialect.cluster.status().primary === promoted.name,
        'Causeway to follow the promotion',
      )
      const followedInMillis = Date.now() - promotedAt
      await eventually(() => servedAfterPromotion.length > 20, 'writes to resume')
      expect(followedInMillis).toBeLessThan(5_000)
      expect(new Set(servedAfterPromotion)).toEqual(new Set([promoted.name]))

      // The old primary comes back writable, on the old timeline: it is fenced.
      await oldPrimary.start()
      expect(await oldPrimary.isInRecovery()).toBe(false)
      await eventually(() => f.nodeStatus(oldPrimary.name).state === 'fenced', 'the old primary to be fenced')
      const [{ count: before }] = (await oldPrimary.query<{ count: string }>(
        'select count(*) from events',
      )) as [{ count: string }]
      await sleep(300)
      const [{ count: after }] = (await oldPrimary.query<{ count: string }>(
        'select count(*) from events',
      )) as [{ count: string }]
      expect(after).toBe(before)
    } finally {
      stop = true
      await Promise.all(writers)
    }
    expect(new Set(servedAfterPromotion)).toEqual(new Set([promoted.name]))
    for (const error of errors) {
      expect(error).toBeInstanceOf(CausewayError)
      expect(DOCUMENTED).toContain((error as CausewayError).code)
    }
    const status = f.dialect.cluster.status()
    expect(status.timeline).toBe(2)
    expect(status.epoch).toBe(2)

    // A token from timeline 1 may name a write the failover lost: it reads from the primary.
    const row = await f.dialect.cluster.session(
      () => f.db.selectFrom('events').select(servedBy()).limit(1).executeTakeFirstOrThrow(),
      { token: oldToken! },
    )
    expect(f.nodeAt(row.served_by)).toBe(promoted.name)
    expect(staleTokens.at(-1)).toMatchObject({ reason: 'timeline' })
  })
})
