import { CausewayError } from '@causeway/core'
import type { Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

interface DB {
  events: { id: Generated<number>; body: string }
}

let f: Fixture<DB>
beforeAll(async () => {
  f = await setupFixture<DB>({ config: { health: { intervalMillis: 100, maxBackoffMillis: 5_000 } } })
  await f.cluster.primary.query('create table events (id serial primary key, body text not null)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe('a primary that comes back', () => {
  // Regression: probes of a down node back off (here up to 5 s), so a restarted
  // primary could go unseen, and every write fail with NO_PRIMARY, for seconds.
  it('is seen as soon as writes want it, not after its probe backoff', async () => {
    // Kysely initialises its driver (probing every node) on the first query: do that now.
    await f.db.insertInto('events').values({ body: 'before' }).execute()
    await f.cluster.primary.kill()
    await eventually(() => f.nodeStatus('pg1').state === 'down', 'the primary to be down')
    await sleep(4_000) // long enough for the backoff to grow past 2 s
    await f.cluster.primary.start()
    const restarted = Date.now()
    for (;;) {
      try {
        await f.db.insertInto('events').values({ body: 'back' }).execute()
        break
      } catch (error) {
        expect(error).toBeInstanceOf(CausewayError)
        await sleep(20)
      }
    }
    expect(Date.now() - restarted).toBeLessThan(1_000)
  })
})
