import { type Cluster, createCluster } from '@causeway/core'
import {
  backendOf,
  type ClusterNode,
  haproxyAvailable,
  type RunningProxy,
  startCluster,
  startHaproxy,
  type TestCluster,
} from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { titled } from './support/proxies.js'

// One replica URL that is really two servers: HAProxy round-robin over pg2 and pg3,
// like a cloud reader endpoint or a Kubernetes Service. Each pooled connection lands
// on either server, so a replay position read on one connection says nothing about
// the server behind another. One server's replay is paused: a read right after a
// write is fresh only if freshness is proven on the connection that runs the read.
const haproxy = haproxyAvailable()

describe.skipIf(!haproxy.ok)(titled('one replica URL balanced over two servers, one paused', haproxy), () => {
  let cluster: TestCluster
  let balancer: RunningProxy
  let causeway: Cluster
  let paused: ClusterNode
  const nameAt = (port: number) => cluster.nodes.find((node) => node.port === port)?.name ?? `port ${port}`

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2 })
    await cluster.primary.query('create table notes (id serial primary key, body text not null)')
    const [pg2, pg3] = cluster.replicas as [ClusterNode, ClusterNode]
    balancer = await startHaproxy({ backends: [backendOf(pg2.url), backendOf(pg3.url)] })
    causeway = createCluster({
      primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
      replicas: [{ connectionString: balancer.urlFor(pg2.url), name: 'balanced' }],
    })
    await causeway.ready()
    // Which server is paused decides what a check on a side connection sees. After
    // ready(), Causeway's only connection is its health probe's: pause the server that
    // it does not reach. A side connection then reports the live server's position,
    // while about half of the pool's connections land on the paused one, so reads are
    // fresh only if each is checked on the connection that runs it.
    const side = await Promise.all([pg2, pg3].map(clientBackends))
    paused = side[0]! > 0 && side[1] === 0 ? pg3 : pg2
    await paused.pauseReplay()
    await causeway.checkHealth()
  })
  afterAll(async () => {
    await causeway?.close()
    await balancer?.close()
    await cluster?.close()
  })

  it('read-your-writes: 8 concurrent sessions of insert-then-read pairs see every write', async () => {
    const sessions = 8
    const perSession = 100
    let stale = 0
    const servedBy = new Map<string, number>()
    await Promise.all(
      Array.from({ length: sessions }, (_, s) =>
        causeway.session(async () => {
          for (let i = 0; i < perSession; i++) {
            const body = `s${s}-${i}`
            const { rows } = await causeway.query<{ id: number }>(
              'insert into notes (body) values ($1) returning id',
              [body],
            )
            // Every other read waits for the write's token, so that replicas serve it
            // (a read sent at once, while the token is captured, goes to the primary).
            if (i % 2 === 1) await causeway.token()
            const read = await causeway.query<{ body: string; port: number }>(
              'select (select body from notes where id = $1) as body, inet_server_port() as port',
              [rows[0]!.id],
            )
            const row = read.rows[0]!
            if (row.body !== body) stale++
            const name = nameAt(row.port)
            servedBy.set(name, (servedBy.get(name) ?? 0) + 1)
          }
        }),
      ),
    )
    const total = sessions * perSession
    const served = [...servedBy].map(([name, count]) => `${name} ${count}`).join(', ')
    console.info(`behind HAProxy, ${paused.name} paused: ${stale} stale of ${total}; served by ${served}`)
    expect(stale).toBe(0)
    // Proven fresh, the live server behind the balancer still serves reads.
    const live = cluster.replicas.find((node) => node !== paused)!
    expect(servedBy.get(live.name) ?? 0).toBeGreaterThan(0)
    // Reads did reach the paused server through the balancer, and their proof
    // failed there: this is the case a check on a side connection got wrong.
    const balanced = causeway.status().nodes.find((node) => node.name === 'balanced')!
    expect(balanced.freshnessMisses).toBeGreaterThan(0)
  })
})

/** How many client connections a server has, besides the one asking. */
async function clientBackends(node: ClusterNode): Promise<number> {
  const [row] = await node.query<{ count: number }>(
    `select count(*)::int as count from pg_stat_activity
     where backend_type = 'client backend' and pid <> pg_backend_pid()`,
  )
  return row?.count ?? 0
}
