import { CausewayError } from '@causeway/core'
import type { Generated } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreCluster, type Fixture, setupFixture } from './support/fixture.js'
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

  // Regression (issue 15, item 7): a 70 ms restart cost 0.56–1.1 s of NO_PRIMARY
  // (about 800 failed writes): the failed writes' probes counted the primary down
  // within milliseconds, it then needed two probes an interval apart to come back,
  // and writes did not wait by default.
  it('rides through a fast restart under 8 writers with the default settings: no write fails for want of a primary', async () => {
    const cluster = coreCluster(f.cluster)
    try {
      await cluster.ready()
      let stop = false
      const errors: string[] = []
      let acknowledged = 0
      const writer = async () => {
        while (!stop) {
          try {
            await cluster.query(`insert into events (body) values ('restart')`)
            acknowledged++
          } catch (error) {
            errors.push((error as CausewayError).code ?? String(error))
            await sleep(1) // a write that fails at once must not starve the timers
          }
        }
      }
      const writers = Array.from({ length: 8 }, writer)
      await sleep(200)
      await f.cluster.primary.stop({ mode: 'fast' })
      await f.cluster.primary.start()
      const back = acknowledged
      await eventually(() => acknowledged > back + 50, 'writes to flow again', 10_000)
      stop = true
      await Promise.all(writers)
      expect(errors.filter((code) => code === 'NO_PRIMARY')).toEqual([])
      // Writes in flight when the server shut down are of unknown outcome, never retried.
      expect(errors.every((code) => code === 'WRITE_OUTCOME_UNKNOWN' || code === 'NODE_UNAVAILABLE')).toBe(
        true,
      )
    } finally {
      await cluster.close()
    }
  })
})

describe('a replica at max_connections', () => {
  // Regression: its 53300 "too many clients" on new connections marked it suspect,
  // the next probe (on its own connection) restored it, and it flapped: 97
  // suspect/up cycles.
  it('is not marked suspect, and every read is served elsewhere', async () => {
    const cluster = coreCluster(f.cluster)
    const replica = f.cluster.replicas[0]!
    const hogs: pg.Client[] = []
    try {
      await cluster.ready()
      const suspects: string[] = []
      cluster.on('node-suspect', (e) => suspects.push(e.node))
      for (;;) {
        const client = new pg.Client(replica.url)
        try {
          await client.connect()
          hogs.push(client)
        } catch (error) {
          await client.end().catch(() => {})
          expect((error as { code?: string }).code).toBe('53300')
          break
        }
      }
      for (let i = 0; i < 100; i++) {
        const { rows } = await cluster.query<{ port: number }>('select inet_server_port() as port')
        expect(rows[0]!.port).not.toBe(replica.port)
      }
      expect(suspects.filter((n) => n === replica.name)).toEqual([])
    } finally {
      await Promise.all(hogs.map((c) => c.end().catch(() => {})))
      await cluster.close()
    }
  })
})
