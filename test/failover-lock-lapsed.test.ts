// A lease-based failover lock can lapse while its holder decides (the process
// stalled, or lost its coordination service for a TTL): another process may hold
// the lock by then. AutoFailover asks `held()` right before promoting, and a holder
// whose lock lapsed promotes nothing.
import type { ClusterEvents, FailoverLock } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreCluster } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

/** A lock that is always granted and whose lease has always lapsed by the time it is checked. */
class LapsedLock implements FailoverLock {
  acquired = 0
  async acquire(): Promise<() => Promise<void>> {
    this.acquired++
    return async () => {}
  }
  held(): boolean {
    return false
  }
}

let tc: TestCluster

beforeAll(async () => {
  tc = await startCluster({ replicas: 1 })
})
afterAll(() => tc?.close())

describe("failover: 'auto' with a lock that lapsed", () => {
  it('promotes nothing and says why', async () => {
    const lock = new LapsedLock()
    const cluster = coreCluster(tc, {
      failover: 'auto',
      autoFailover: { lock, primaryDownMillis: 200 },
      health: { intervalMillis: 100 },
    })
    try {
      await cluster.ready()
      const cancelled: ClusterEvents['failover-cancelled'][] = []
      const completed: ClusterEvents['failover-completed'][] = []
      cluster.on('failover-cancelled', (e) => cancelled.push(e))
      cluster.on('failover-completed', (e) => completed.push(e))
      await tc.primary.kill()
      await eventually(() => cancelled.length > 0, 'the failover to be called off')
      expect(cancelled[0]!.reason).toMatch(/lock lapsed/)
      // Several tries, none of which promoted.
      await sleep(1_000)
      expect(completed).toHaveLength(0)
      expect(await tc.replicas[0]!.isInRecovery()).toBe(true)
    } finally {
      await cluster.close()
    }
  })
})
