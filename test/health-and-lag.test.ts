import type { ClusterEvents } from '@causeway/core'
import type { ClusterNode } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

interface DB {
  kv: { k: number; v: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  f = await setupFixture<DB>({
    config: {
      consistency: { scope: 'session' },
      health: { intervalMillis: 100 },
      maxLag: { bytes: 64 * 1024 },
    },
  })
  await f.cluster.primary.query('create table kv (k int primary key, v text)')
  await f.cluster.primary.query(`insert into kv select i, 'v' || i from generate_series(1, 1000) i`)
  await f.dialect.cluster.ready()
  await eventually(
    () => f.dialect.cluster.status().nodes.every((n) => n.state === 'healthy' && !n.lagging),
    'a calm cluster',
  )
})
afterAll(() => f.close())

describe('a replica killed under a steady read load', () => {
  it('fails no read, gets no traffic once seen dead, and gets traffic again after restart', async () => {
    const [victim] = f.cluster.replicas as [ClusterNode]
    let stop = false
    let reads = 0
    const errors: unknown[] = []
    const reader = async () => {
      while (!stop) {
        try {
          await f.db
            .selectFrom('kv')
            .select('v')
            .where('k', '=', (reads++ % 1000) + 1)
            .executeTakeFirstOrThrow()
        } catch (error) {
          errors.push(error)
        }
      }
    }
    const readers = Array.from({ length: 8 }, reader)
    try {
      await sleep(300)
      await victim.kill()
      await eventually(() => f.nodeStatus(victim.name).state !== 'healthy', 'the kill to be seen')
      // Reads already on their way when the kill was seen may finish; then nothing more.
      await sleep(100)
      const atDetection = f.nodeStatus(victim.name).served
      const readsAtDetection = reads
      await sleep(500)
      expect(reads - readsAtDetection).toBeGreaterThan(50)
      expect(f.nodeStatus(victim.name).served).toBe(atDetection)

      await victim.start()
      await eventually(
        () => f.nodeStatus(victim.name).state === 'healthy',
        'the restarted replica to be healthy',
      )
      const before = f.nodeStatus(victim.name).served
      await sleep(500)
      expect(f.nodeStatus(victim.name).served).toBeGreaterThan(before)
    } finally {
      stop = true
      await Promise.all(readers)
    }
    expect(errors).toEqual([])
  })
})

describe('lag', () => {
  it('a paused replica crosses maxLag, is skipped, and returns after resume', async () => {
    const [paused, other] = f.cluster.replicas as [ClusterNode, ClusterNode]
    const events: string[] = []
    const offLagging = f.dialect.cluster.on('node-lagging', (e: ClusterEvents['node-lagging']) =>
      events.push(`lagging ${e.node}`),
    )
    const offCaughtUp = f.dialect.cluster.on('node-caught-up', (e: ClusterEvents['node-caught-up']) =>
      events.push(`caught-up ${e.node}`),
    )
    try {
      await paused.pauseReplay()
      await f.cluster.primary.query(`update kv set v = repeat('x', 500)`)
      await eventually(
        () => f.nodeStatus(paused.name).lagging && !f.nodeStatus(other.name).lagging,
        'the paused replica, and only it, to be lagging',
      )
      expect(f.nodeStatus(paused.name).lagBytes).toBeGreaterThan(64 * 1024)
      const names = new Set<string>()
      for (let i = 0; i < 30; i++) {
        names.add(
          f.nodeAt(
            (await f.db.selectFrom('kv').select(servedBy()).limit(1).executeTakeFirstOrThrow()).served_by,
          ),
        )
      }
      expect(names).toEqual(new Set([other.name]))

      await paused.resumeReplay()
      await eventually(() => !f.nodeStatus(paused.name).lagging, 'the replica to catch up')
      const back = new Set<string>()
      for (let i = 0; i < 30; i++) {
        back.add(
          f.nodeAt(
            (await f.db.selectFrom('kv').select(servedBy()).limit(1).executeTakeFirstOrThrow()).served_by,
          ),
        )
      }
      expect(back.has(paused.name)).toBe(true)
      // The live replica may cross the bound for a moment while it replays the big update; the
      // paused one must have crossed it exactly once each way.
      expect(events.filter((e) => e.endsWith(` ${paused.name}`))).toEqual([
        `lagging ${paused.name}`,
        `caught-up ${paused.name}`,
      ])
    } finally {
      offLagging()
      offCaughtUp()
      await paused.resumeReplay()
    }
  })

  it('stays small in ms on an idle primary, after 5 s without a write', async () => {
    await f.cluster.primary.query(`update kv set v = 'idle' where k = 1`)
    await sleep(5_000)
    for (const replica of f.cluster.replicas) {
      const status = f.nodeStatus(replica.name)
      expect(status.state).toBe('healthy')
      expect(status.lagBytes).toBe(0)
      expect(status.lagMillis).toBeLessThan(500)
    }
  })
})
