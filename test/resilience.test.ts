import type { ClusterEvents } from '@causeway/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'

interface DB {
  kv: { k: number; v: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  f = await setupFixture<DB>({
    config: { consistency: { scope: 'session' }, health: { intervalMillis: 100, downAfter: 2, upAfter: 1 } },
  })
  await f.cluster.primary.query(`create table kv (k int primary key, v text)`)
  await f.cluster.primary.query(`insert into kv select i, 'v' || i from generate_series(1, 100) i`)
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

const read = async () =>
  f.nodeAt(
    (await f.db.selectFrom('kv').select(servedBy()).where('k', '=', 1).executeTakeFirstOrThrow()).served_by,
  )
const served = (name: string) => f.nodeStatus(name).served
const until = async (check: () => boolean, what: string, timeoutMillis = 10_000) => {
  const deadline = Date.now() + timeoutMillis
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('a replica that stops', () => {
  it('costs no read an error, gets no traffic once its failure is seen, and gets traffic again after restart', async () => {
    const retried: ClusterEvents['read-retried'][] = []
    const off = f.dialect.cluster.on('read-retried', (e) => retried.push(e))
    const [dead, live] = f.cluster.replicas as [
      (typeof f.cluster.replicas)[0],
      (typeof f.cluster.replicas)[0],
    ]
    for (let i = 0; i < 20; i++) await read()
    expect(served(dead.name)).toBeGreaterThan(0)

    await dead.stop({ mode: 'immediate' })
    // The very first reads after the stop must not fail: they are retried elsewhere.
    const servedBy: string[] = []
    for (let i = 0; i < 40; i++) servedBy.push(await read())
    expect(servedBy.every((name) => name !== dead.name)).toBe(true)
    const state = f.nodeStatus(dead.name).state
    expect(['suspect', 'down']).toContain(state)
    const afterDetection = served(dead.name)
    for (let i = 0; i < 20; i++) expect(await read()).toBe(live.name)
    expect(served(dead.name)).toBe(afterDetection)

    await dead.start()
    await until(() => f.nodeStatus(dead.name).state === 'healthy', 'pg to recover')
    const names = new Set<string>()
    for (let i = 0; i < 20; i++) names.add(await read())
    expect(names).toEqual(new Set([f.cluster.replicas[0]!.name, f.cluster.replicas[1]!.name]))
    off()
    // Retries happened only if a read was in flight to the dead node; when they did, they name it.
    for (const event of retried) expect(event.from).toBe(dead.name)
  })
})

describe('with every replica stopped', () => {
  it('reads succeed on the primary, the fallback is counted and reported, and reads return after restart', async () => {
    const fallbacks: ClusterEvents['fallback'][] = []
    const off = f.dialect.cluster.on('fallback', (e) => fallbacks.push(e))
    const before = f.dialect.cluster.status().fallbacks['all-replicas-unhealthy']
    await Promise.all(f.cluster.replicas.map((node) => node.stop({ mode: 'immediate' })))
    for (let i = 0; i < 10; i++) expect(await read()).toBe('pg1')
    const status = f.dialect.cluster.status()
    expect(status.fallbacks['all-replicas-unhealthy']).toBeGreaterThan(before)
    expect(fallbacks.length).toBeGreaterThan(0)
    expect(fallbacks[0]).toMatchObject({ reason: 'all-replicas-unhealthy' })
    expect(fallbacks[0]!.statement).toMatch(/select inet_server_port\(\)/)

    await Promise.all(f.cluster.replicas.map((node) => node.start()))
    await until(
      () => f.dialect.cluster.status().nodes.every((n) => n.state === 'healthy'),
      'replicas to recover',
    )
    expect(await read()).not.toBe('pg1')
    off()
  })
})
