import {
  etcdAvailable,
  startCluster,
  startEtcdServer,
  type TestCluster,
  type TestEtcd,
} from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { titled } from '../support/proxies.js'
import { WriterFleet } from '../support/writer-fleet.js'

// `failover: 'auto'` in 3 real app processes sharing EtcdFailoverLock, racing on a
// killed primary: one promotion, every process on the new primary, no acknowledged
// write lost. The writes use Causeway's `sync: { replicas: 'all' }` (client
// method): each returns only once every replica applied it, so whichever replica is
// promoted has every acknowledged write. Asynchronous replication alone can lose
// the last writes a crashed primary acknowledged.
const etcdHere = etcdAvailable()

describe.skipIf(!etcdHere.ok)(
  titled("failover: 'auto' in 3 app processes with an etcd lock", etcdHere),
  () => {
    let tc: TestCluster
    let etcd: TestEtcd
    let fleet: WriterFleet | undefined

    beforeAll(async () => {
      ;[tc, etcd] = await Promise.all([startCluster({ replicas: 2 }), startEtcdServer()])
      await tc.primary.query('create table writes (id text primary key)')
    })
    afterAll(async () => {
      await fleet?.kill()
      await Promise.allSettled([tc?.close(), etcd?.close()])
    })

    it('promotes exactly one replica; every process writes to it; no acknowledged write is lost', async () => {
      const started = Date.now()
      fleet = new WriterFleet(
        3,
        tc.nodes.map((node) => ({ name: node.name, url: node.url })),
        {
          FAILOVER: 'auto',
          ETCD_URL: etcd.url,
          LOCK_KEY: 'causeway/failover-auto-test',
          SYNC: 'all',
          SLOW_LOCK_MILLIS: '500',
        },
      )
      await fleet.writing()
      const killedAt = Date.now()
      await tc.primary.kill()

      // Each process that saw the primary down raced for the lock; one won and promoted.
      const completed = await Promise.any(
        fleet.processes.map((p) =>
          p.waitForLine((l) => l.event === 'failover-completed', 'the promotion', 60_000),
        ),
      )
      const promoted = tc.replicas.find((node) => node.name === completed.to)!
      expect(promoted).toBeDefined()
      await fleet.writingTo(promoted.port)
      const ended = await fleet.stop()

      expect(fleet.events('failover-completed')).toHaveLength(1)
      const writable = await Promise.all(tc.replicas.map(async (r) => !(await r.isInRecovery())))
      expect(writable.filter(Boolean)).toHaveLength(1)
      for (const line of ended) expect(line.primary).toBe(promoted.name)

      const ids = fleet.acknowledged()
      const [{ found }] = (await promoted.query<{ found: number }>(
        'select count(*)::int as found from writes where id = any($1::text[])',
        [ids],
      )) as [{ found: number }]
      console.log(
        `3 processes, one promotion (${promoted.name}) ${Number(completed.durationMillis)} ms long; ` +
          `every process writing to it ${Date.now() - killedAt} ms after the kill; ` +
          `acknowledged writes on it: ${found} of ${ids.length}; ` +
          `cancelled elsewhere: ${fleet.events('failover-cancelled').length}; test ${Date.now() - started} ms`,
      )
      expect(found).toBe(ids.length)
    })
  },
)
