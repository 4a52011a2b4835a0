import { CausewayError, type Cluster, type ClusterEvents, createCluster } from '@causeway/core'
import {
  backendOf,
  type ClusterNode,
  pgbouncerAvailable,
  type RunningProxy,
  startCluster,
  startPgbouncer,
  type TestCluster,
} from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loginOf, titled } from './support/proxies.js'
import { eventually, sleep } from './support/wait.js'

// failover: 'follow' with every node behind a PgBouncer of its own (transaction
// mode). PgBouncer does not pass in_hot_standby on to its clients, so the pooled
// connections never say that a standby became the primary: the probes, which go
// through the same poolers, must see it.
const pgbouncer = pgbouncerAvailable()

const DOCUMENTED = new Set(['NODE_UNAVAILABLE', 'NO_PRIMARY', 'WRITE_OUTCOME_UNKNOWN'])

describe.skipIf(!pgbouncer.ok)(
  titled("failover: 'follow' through PgBouncer (transaction mode)", pgbouncer),
  () => {
    let cluster: TestCluster
    let bouncers: RunningProxy[] = []
    let causeway: Cluster

    beforeAll(async () => {
      cluster = await startCluster({ replicas: 2 })
      await cluster.primary.query('create table events (id serial primary key, body text not null)')
      bouncers = await Promise.all(
        cluster.nodes.map((node) =>
          startPgbouncer({
            backend: backendOf(node.url),
            poolMode: 'transaction',
            ...loginOf(node.url),
            // A statement queued for a server that died fails after this long, not 120 s.
            settings: { query_wait_timeout: 2 },
          }),
        ),
      )
      const [primary, ...replicas] = cluster.nodes.map((node, i) => ({
        connectionString: bouncers[i]!.urlFor(node.url),
        name: node.name,
      }))
      causeway = createCluster({
        primary: primary!,
        replicas,
        failover: 'follow',
        health: { intervalMillis: 100 },
        consistency: { scope: 'session' },
      })
      await causeway.ready()
    })
    afterAll(async () => {
      await causeway?.close()
      await Promise.all(bouncers.map((bouncer) => bouncer.close()))
      await cluster?.close()
    })

    it('follows a promotion seen through the poolers: writes move to the new primary, reads stay exact', async () => {
      const [promoted, other] = cluster.replicas as [ClusterNode, ClusterNode]
      const nameAt = (port: number) => cluster.nodes.find((node) => node.port === port)?.name
      const roleChanges: ClusterEvents['role-changed'][] = []
      causeway.on('role-changed', (event) => roleChanges.push(event))

      let stop = false
      const errors: unknown[] = []
      const servedAfterPromotion: (string | undefined)[] = []
      let promotedAt = 0
      const writer = async () => {
        while (!stop) {
          try {
            const { rows } = await causeway.query<{ port: number }>(
              `insert into events (body) values ('load') returning inet_server_port() as port`,
            )
            if (promotedAt) servedAfterPromotion.push(nameAt(rows[0]!.port))
          } catch (error) {
            errors.push(error)
            await sleep(5)
          }
        }
      }
      const writers = Array.from({ length: 3 }, writer)
      try {
        await sleep(200)
        await cluster.primary.kill()
        await sleep(300)
        await promoted.promote()
        promotedAt = Date.now()
        await eventually(
          () => causeway.status().primary === promoted.name,
          'Causeway to follow the promotion',
        )
        const followedInMillis = Date.now() - promotedAt
        await eventually(() => servedAfterPromotion.length > 20, 'writes to resume on the new primary')
        console.info(
          `through PgBouncer: followed the promotion in ${followedInMillis} ms; ${errors.length} writes failed meanwhile`,
        )
        expect(followedInMillis).toBeLessThan(5_000)
      } finally {
        stop = true
        await Promise.all(writers)
      }
      expect(new Set(servedAfterPromotion)).toEqual(new Set([promoted.name]))
      // The probes saw the role change: the pooled connections cannot (no in_hot_standby).
      expect(roleChanges).toContainEqual({ node: promoted.name, from: 'replica', to: 'primary' })
      for (const error of errors) {
        expect(error).toBeInstanceOf(CausewayError)
        expect(DOCUMENTED).toContain((error as CausewayError).code)
      }
      expect(causeway.status().timeline).toBe(2)

      // The other standby now streams from the new primary (an outside manager's job
      // in follow mode), through whose pooler it keeps its server connections.
      await other.repoint(promoted)
      // Its probes must see it healthy on the new timeline before it can take reads: on a
      // loaded machine the 50 pairs below can end before that, and then prove nothing.
      await eventually(() => {
        const node = causeway.status().nodes.find((n) => n.name === other.name)
        return node?.state === 'healthy' && node.timeline === 2
      }, 'the re-pointed standby to be healthy on the new timeline')
      let stale = 0
      let onReplica = 0
      for (let i = 0; i < 50; i++) {
        await causeway.session(async () => {
          const body = `after-${i}`
          const { rows } = await causeway.query<{ id: number }>(
            'insert into events (body) values ($1) returning id',
            [body],
          )
          await causeway.token()
          const read = await causeway.query<{ body: string; port: number }>(
            'select body, inet_server_port() as port from events where id = $1',
            [rows[0]!.id],
          )
          if (read.rows[0]?.body !== body) stale++
          else if (nameAt(read.rows[0].port) === other.name) onReplica++
        })
      }
      expect(stale).toBe(0)
      // Reads reach the re-pointed standby through its pooler once it has the new timeline.
      expect(onReplica).toBeGreaterThan(0)
    })
  },
)
