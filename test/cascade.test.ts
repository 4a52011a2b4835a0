import type { ClusterNode } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { eventually } from './support/wait.js'

interface DB {
  kv: { k: number; v: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  // pg1 → pg2 → pg3: pg3 streams from pg2, not from the primary.
  f = await setupFixture<DB>({
    cluster: { replicas: 2, cascade: true },
    config: { health: { intervalMillis: 100 } },
  })
  await f.cluster.primary.query('create table kv (k int primary key, v text)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe('a cascaded replica', () => {
  it('is shown with its upstream, and reads after a write reach it once it has replayed', async () => {
    const [middle, tail] = f.cluster.replicas as [ClusterNode, ClusterNode]
    await eventually(() => f.nodeStatus(tail.name).upstream === middle.name, 'the tail’s upstream to be seen')
    expect(f.nodeStatus(middle.name).upstream).toBe('pg1')
    const seen = new Set<string>()
    for (let i = 0; i < 40; i++) {
      const row = await f.dialect.cluster.session(async () => {
        await f.db.insertInto('kv').values({ k: i, v: 'x' }).execute()
        // Once the token is known (a read sent at once goes to the primary).
        await f.dialect.cluster.token()
        return f.db.selectFrom('kv').select(['v', servedBy()]).where('k', '=', i).executeTakeFirst()
      })
      expect(row?.v).toBe('x')
      seen.add(f.nodeAt(row!.served_by))
    }
    expect(seen.has(tail.name)).toBe(true)
  })

  it('lags by its upstream’s lag too: with the middle stopped, the tail falls behind the primary', async () => {
    const [middle, tail] = f.cluster.replicas as [ClusterNode, ClusterNode]
    // A cascading standby passes on WAL it has received, replayed or not, so it is
    // stopping the middle (not pausing its replay) that holds the tail back.
    await middle.stop()
    try {
      await f.cluster.primary.query(
        `insert into kv select i, repeat('y', 200) from generate_series(1000, 3000) i`,
      )
      await eventually(() => (f.nodeStatus(tail.name).lagBytes ?? 0) > 100_000, 'the tail to show lag')
      expect(f.nodeStatus(tail.name).state).toBe('healthy')
      // A session read after a write lands on neither: one is down, the other has not replayed it.
      const row = await f.dialect.cluster.session(async () => {
        await f.db.insertInto('kv').values({ k: 5000, v: 'z' }).execute()
        await f.dialect.cluster.token()
        return f.db.selectFrom('kv').select(['v', servedBy()]).where('k', '=', 5000).executeTakeFirst()
      })
      expect(row?.v).toBe('z')
      expect(f.nodeAt(row!.served_by)).toBe('pg1')
    } finally {
      await middle.start()
    }
    await eventually(() => f.nodeStatus(tail.name).lagBytes === 0, 'the tail to catch up')
  })
})
