// A read stuck on a server that stopped answering is bounded: the node's probe
// times out, its running reads are cut off and retried elsewhere. A slow query on a
// server that answers is never mistaken for a dead one (issue 15, item 6).

import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from './support/fixture.js'
import { sleep } from './support/wait.js'

let f: Fixture<Record<string, never>>

beforeAll(async () => {
  // Default health settings: the documented bound is intervalMillis + timeoutMillis (1.5 s).
  f = await setupFixture({ config: { balancer: 'round-robin' } })
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe('a replica frozen for 6 s under 8 readers', () => {
  // Regression: reads in flight on it stalled for the whole freeze (6–7 of 8
  // readers with round-robin), and health.timeoutMillis bounded only the probes.
  it('holds no read longer than the probe interval plus the probe timeout, and fails none', async () => {
    const frozen = f.cluster.replicas[0]!
    let stop = false
    const durations: number[] = []
    const failures: unknown[] = []
    const reader = async () => {
      while (!stop) {
        const started = performance.now()
        try {
          await sql`select inet_server_port() as port, pg_sleep(0.005)`.execute(f.db)
          durations.push(performance.now() - started)
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const readers = Array.from({ length: 8 }, reader)
    await sleep(200)
    await frozen.freeze()
    await sleep(6_000)
    await frozen.thaw()
    await sleep(300)
    stop = true
    await Promise.all(readers)
    expect(failures).toEqual([])
    // intervalMillis (500) + timeoutMillis (1,000), with room for a loaded machine.
    expect(Math.max(...durations)).toBeLessThan(3_000)
    expect(f.dialect.cluster.status().readRetries).toBeGreaterThan(0)
  })
})

describe('a slow query on a replica that answers its probes', () => {
  it('runs to the end on that replica, and marks nothing suspect', async () => {
    const suspects: string[] = []
    const off = f.dialect.cluster.on('node-suspect', (e) => suspects.push(e.node))
    try {
      await f.dialect.cluster.checkHealth()
      const retries = f.dialect.cluster.status().readRetries
      const started = Date.now()
      const { rows } = await sql<{ port: number }>`select inet_server_port() as port, pg_sleep(2.5)`.execute(
        f.db,
      )
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_400)
      expect(f.cluster.replicas.map((r) => r.port)).toContain(rows[0]!.port)
      expect(f.dialect.cluster.status().readRetries).toBe(retries)
      expect(suspects).toEqual([])
    } finally {
      off()
    }
  })
})
