import { CausewayError, type ClusterEvents } from '@causeway/core'
import type { ClusterNode } from '@causeway/testing'
import type { Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { eventually } from './support/wait.js'

interface DB {
  events: { id: Generated<number>; body: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  f = await setupFixture<DB>({
    // Default health and failover timings: the target is a write within 3 s of the kill.
    config: { failover: 'auto', autoFailover: { singleProcess: true }, writeWaitMillis: 10_000 },
  })
  await f.cluster.primary.query('create table events (id serial primary key, body text not null)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe("failover: 'auto'", () => {
  it('promotes the most advanced replica, re-points the other, and a write waiting through it succeeds', async () => {
    const events: string[] = []
    for (const name of [
      'failover-started',
      'failover-completed',
      'failover-failed',
      'primary-changed',
    ] as const) {
      f.dialect.cluster.on(name, (e: ClusterEvents[typeof name]) =>
        events.push(`${name} ${JSON.stringify(e)}`),
      )
    }
    await f.db.insertInto('events').values({ body: 'before' }).execute()
    const killedAt = Date.now()
    await f.cluster.primary.kill()
    // Issued at once, a write waits (writeWaitMillis) for the new primary instead of
    // failing. One that picked a pooled connection the crash had already broken fails
    // as WRITE_OUTCOME_UNKNOWN (it was sent, so it is never retried for us): the app
    // decides, as here, to try again.
    const outcomes: string[] = []
    let row: { served_by: number } | undefined
    while (!row) {
      try {
        row = await f.db
          .insertInto('events')
          .values({ body: 'during' })
          .returning(servedBy())
          .executeTakeFirstOrThrow()
      } catch (error) {
        expect(error).toBeInstanceOf(CausewayError)
        outcomes.push((error as CausewayError).code)
        expect(outcomes.length).toBeLessThan(5)
      }
    }
    expect(outcomes.every((code) => code === 'WRITE_OUTCOME_UNKNOWN')).toBe(true)
    const firstWriteMillis = Date.now() - killedAt
    const status = f.dialect.cluster.status()
    const promoted = f.nodeAt(row.served_by)
    expect(promoted).not.toBe('pg1')
    expect(status.primary).toBe(promoted)
    expect(firstWriteMillis).toBeLessThan(3_000)
    expect(events.some((e) => e.startsWith('failover-started'))).toBe(true)
    expect(events.some((e) => e.startsWith(`failover-completed {"from":"pg1","to":"${promoted}"`))).toBe(true)
    expect(events.some((e) => e.startsWith('failover-failed'))).toBe(false)

    // The other replica follows the new primary on the new timeline.
    const follower = f.cluster.replicas.find((n) => n.name !== promoted) as ClusterNode
    await eventually(async () => {
      const node = f.nodeStatus(follower.name)
      return node.upstream === promoted && node.timeline === 2 && node.state === 'healthy'
    }, 'the other replica to follow the new primary')
    const { id } = await f.db
      .insertInto('events')
      .values({ body: 'after' })
      .returning('id')
      .executeTakeFirstOrThrow()
    await eventually(
      async () => (await follower.query('select 1 from events where id = $1', [id])).length === 1,
      'the follower to receive writes from the new primary',
    )
  })
})
