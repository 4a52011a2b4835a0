import { type Cluster, type ClusterEvents, createCluster } from '@causeway/core'
import {
  backendOf,
  pgbouncerAvailable,
  type RunningProxy,
  startCluster,
  startPgbouncer,
  type TestCluster,
} from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loginOf, titled } from './support/proxies.js'

// Each node's URL goes through a PgBouncer of its own in transaction mode, as in a
// deployment where the app reaches every server through a pooler. A pooled server
// connection serves a different client at each transaction: nothing that Causeway
// keeps per connection may be relied on across statements.
const pgbouncer = pgbouncerAvailable()

describe.skipIf(!pgbouncer.ok)(
  titled('a cluster whose every node is behind PgBouncer (transaction mode)', pgbouncer),
  () => {
    let cluster: TestCluster
    let bouncers: RunningProxy[] = []
    let causeway: Cluster
    const portOf = (name: string) => cluster.nodes.find((node) => node.name === name)?.port
    /** Resolves once the replica has replayed everything the primary has written so far. */
    async function replayedAll(): Promise<void> {
      const [{ lsn }] = (await cluster.primary.query<{ lsn: string }>(
        'select pg_current_wal_lsn()::text as lsn',
      )) as [{ lsn: string }]
      const replica = cluster.replicas[0]!
      while (
        !(
          await replica.query<{ ok: boolean }>('select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn])
        )[0]?.ok
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }

    beforeAll(async () => {
      cluster = await startCluster({ replicas: 1 })
      await cluster.primary.query('create table notes (id serial primary key, body text not null)')
      bouncers = await Promise.all(
        cluster.nodes.map((node) =>
          startPgbouncer({ backend: backendOf(node.url), poolMode: 'transaction', ...loginOf(node.url) }),
        ),
      )
      const [primary, replica] = cluster.nodes.map((node, i) => ({
        connectionString: bouncers[i]!.urlFor(node.url),
        name: node.name,
      }))
      causeway = createCluster({ primary: primary!, replicas: [replica!] })
      await causeway.ready()
    })
    afterAll(async () => {
      await causeway?.close()
      await Promise.all(bouncers.map((bouncer) => bouncer.close()))
      await cluster?.close()
    })

    it('sends reads to the replica and writes to the primary, each through its pooler', async () => {
      const seen: ClusterEvents['statement'][] = []
      const off = causeway.on('statement', (event) => seen.push(event))
      const before = causeway.status().nodes.map((node) => node.served)
      try {
        for (let i = 0; i < 10; i++) {
          // The process-wide scope's token covers the last write: once it is captured,
          // the replica serves the read (sent at once, it would go to the primary).
          await causeway.token()
          // Under load the replica may not have replayed the write yet, and the read
          // would rightly go to the primary: wait until it has.
          await replayedAll()
          const read = await causeway.query<{ port: number }>('select inet_server_port() as port')
          expect(read.rows[0]?.port).toBe(portOf('pg2'))
          const write = await causeway.query<{ port: number }>(
            `insert into notes (body) values ('routing') returning inet_server_port() as port`,
          )
          expect(write.rows[0]?.port).toBe(portOf('pg1'))
        }
      } finally {
        off()
      }
      const reads = seen.filter((event) => event.intent === 'read')
      const writes = seen.filter((event) => event.intent === 'write')
      // Each read proved on the replica that it had its predecessor's write.
      expect(reads.map((event) => event.node)).toEqual(Array(10).fill('pg2'))
      expect(writes.map((event) => event.node)).toEqual(Array(10).fill('pg1'))
      expect(seen.every((event) => event.error === undefined)).toBe(true)
      const after = causeway.status().nodes.map((node) => node.served)
      expect(after.map((served, i) => served - before[i]!)).toEqual([10, 10])
    })

    it('read-your-writes: 8 concurrent sessions of insert-then-read pairs see every write', async () => {
      const sessions = 8
      const perSession = 100
      let stale = 0
      let onReplica = 0
      await Promise.all(
        Array.from({ length: sessions }, (_, s) =>
          causeway.session(async () => {
            for (let i = 0; i < perSession; i++) {
              const body = `s${s}-${i}`
              const { rows } = await causeway.query<{ id: number }>(
                'insert into notes (body) values ($1) returning id',
                [body],
              )
              // Every other read once the token is known (sent at once, it goes to the primary).
              if (i % 2 === 1) await causeway.token()
              const read = await causeway.query<{ body: string; port: number }>(
                'select body, inet_server_port() as port from notes where id = $1',
                [rows[0]!.id],
              )
              if (read.rows[0]?.body !== body) stale++
              else if (read.rows[0].port === portOf('pg2')) onReplica++
            }
          }),
        ),
      )
      const total = sessions * perSession
      console.info(
        `PgBouncer, transaction mode: ${stale} stale of ${total}; ${onReplica} served by the replica`,
      )
      expect(stale).toBe(0)
      // The reads still reach the replica: read-your-writes is not bought by reading the primary.
      expect(onReplica).toBeGreaterThan(total / 4)
    })
  },
)
