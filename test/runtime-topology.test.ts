import type { ClusterEvents } from '@causeway/core'
import type { ClusterNode } from '@causeway/testing'
import type { Generated } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

interface DB {
  items: { id: Generated<number>; body: string }
}

let f: Fixture<DB>
const events: string[] = []

beforeAll(async () => {
  f = await setupFixture<DB>({
    config: { health: { intervalMillis: 100 }, consistency: { scope: 'session' } },
  })
  await f.cluster.primary.query('create table items (id serial primary key, body text not null)')
  await f.cluster.primary.query(`insert into items (body) select 'x' from generate_series(1, 100)`)
  await f.dialect.cluster.ready()
  for (const name of ['replica-added', 'replica-removed', 'primary-changed', 'node-fenced'] as const) {
    f.dialect.cluster.on(name, (e: ClusterEvents[typeof name]) =>
      events.push(`${name} ${'node' in e ? e.node : ''}`.trim()),
    )
  }
})
afterAll(() => f.close())

const readers = async (n: number) => {
  const names = new Set<string>()
  for (let i = 0; i < n; i++) {
    names.add(
      f.nodeAt(
        (await f.db.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow()).served_by,
      ),
    )
  }
  return names
}

describe('runtime changes', () => {
  it('addReplica() takes reads once probed; removeReplica() takes it out of routing', async () => {
    const added = await f.cluster.addReplica()
    await f.dialect.cluster.addReplica({ connectionString: added.url, name: added.name })
    expect(events).toContain(`replica-added ${added.name}`)
    await eventually(async () => (await readers(12)).has(added.name), 'the added replica to take reads')

    await f.dialect.cluster.removeReplica(added.name)
    expect(events).toContain(`replica-removed ${added.name}`)
    expect(f.dialect.cluster.status().nodes.map((n) => n.name)).not.toContain(added.name)
    expect(await readers(12)).not.toContain(added.name)
    await expect(f.dialect.cluster.removeReplica(added.name)).rejects.toMatchObject({ code: 'UNKNOWN_NODE' })
  })

  it('drains: a query running on a removed replica completes', async () => {
    const added = await f.cluster.addReplica()
    await f.dialect.cluster.addReplica({ connectionString: added.url, name: added.name })
    await eventually(() => f.nodeStatus(added.name).state === 'healthy', 'probe')
    // Pin a read-only transaction to the new replica by making it the only eligible one.
    const others = f.cluster.replicas.filter((n) => n.name !== added.name)
    await Promise.all(others.map((n) => n.pauseReplay()))
    try {
      const running = f.db
        .transaction()
        .setAccessMode('read only')
        .execute(async (tx) => {
          const first = await tx.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow()
          await sleep(300)
          const second = await tx.selectFrom('items').select(servedBy()).limit(1).executeTakeFirstOrThrow()
          return [first.served_by, second.served_by]
        })
      await sleep(50)
      const removed = f.dialect.cluster.removeReplica(added.name)
      const ports = await running
      await removed
      expect(ports.every((port) => port === ports[0])).toBe(true)
    } finally {
      await Promise.all(others.map((n) => n.resumeReplay()))
    }
  })

  it('promote(name) switches over: the replica becomes the primary, the other follows it, the old one is fenced', async () => {
    const [next, follower] = f.cluster.replicas as [ClusterNode, ClusterNode]
    await f.dialect.cluster.promote(next.name)
    const status = f.dialect.cluster.status()
    expect(status.primary).toBe(next.name)
    expect(status.epoch).toBe(2)
    expect(events).toContain('primary-changed')
    const { served_by } = await f.db
      .insertInto('items')
      .values({ body: 'after' })
      .returning(servedBy())
      .executeTakeFirstOrThrow()
    expect(f.nodeAt(served_by)).toBe(next.name)
    await eventually(() => {
      const node = f.nodeStatus(follower.name)
      return node.upstream === next.name && node.timeline === 2 && node.state === 'healthy'
    }, 'the other replica to follow')
    // The old primary is still running and writable, on timeline 1: fenced.
    await eventually(() => f.nodeStatus('pg1').state === 'fenced', 'the old primary to be fenced')
    await expect(f.dialect.cluster.promote('nope')).rejects.toMatchObject({ code: 'UNKNOWN_NODE' })
  })
})
