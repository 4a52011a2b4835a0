// What `failover: 'auto'` promises with several app instances: given a lock they all
// share, exactly one promotes, and every instance follows that one primary. Two
// clusters in one test process stand for two app processes: each has its own
// topology, probes and (by default) its own in-process lock.
import type { Cluster, ClusterEvents, FailoverLock } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreCluster } from './support/fixture.js'
import { eventually } from './support/wait.js'

/**
 * A failover lock all instances share: a PostgreSQL advisory lock on a database
 * outside the cluster being failed over, held on a session of its own.
 */
class AdvisoryLock implements FailoverLock {
  readonly #url: string
  constructor(url: string) {
    this.#url = url
  }
  async acquire(): Promise<(() => Promise<void>) | undefined> {
    const client = new pg.Client(this.#url)
    await client.connect()
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(4711) as ok')
    if (!rows[0]?.ok) {
      await client.end()
      return undefined
    }
    return async () => {
      await client.end() // ending the session releases the lock
    }
  }
}

let tc: TestCluster
let lockDb: TestCluster

beforeAll(async () => {
  ;[tc, lockDb] = await Promise.all([startCluster({ replicas: 2 }), startCluster({ replicas: 0 })])
  await tc.primary.query('create table t (id int)')
})
afterAll(async () => {
  await Promise.all([tc?.close(), lockDb?.close()])
})

describe("failover: 'auto' in several app instances sharing a lock", () => {
  it('promotes exactly one replica, and every instance writes to it', async () => {
    const instances: Cluster[] = [0, 1, 2].map(() =>
      coreCluster(tc, {
        failover: 'auto',
        autoFailover: { lock: new AdvisoryLock(lockDb.primary.url) },
        writeWaitMillis: 10_000,
      }),
    )
    try {
      await Promise.all(instances.map((c) => c.ready()))
      const completed: ClusterEvents['failover-completed'][] = []
      for (const c of instances) c.on('failover-completed', (e) => completed.push(e))
      await tc.primary.kill()
      // Each instance writes as soon as it has a primary again.
      await Promise.all(instances.map((c) => c.query('insert into t values (1)')))
      await eventually(
        () => new Set(instances.map((c) => c.status().primary)).size === 1,
        'every instance to agree on the primary',
      )
      expect(completed).toHaveLength(1)
      const primary = instances[0]!.status().primary
      expect(primary).toBe(completed[0]!.to)
      // One promotion: one new timeline, and the other replica is not writable.
      const writable = await Promise.all(tc.replicas.map(async (r) => !(await r.isInRecovery())))
      expect(writable.filter(Boolean)).toHaveLength(1)
      for (const c of instances) expect(c.status().timeline).toBe(2)
    } finally {
      await Promise.all(instances.map((c) => c.close()))
    }
  })
})
