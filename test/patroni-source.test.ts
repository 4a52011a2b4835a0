// `patroni`: Causeway asks Patroni's REST API who leads, beside its own probes, and
// writes only where both agree. Here the REST API is a small HTTP server of the
// test that answers `GET /cluster` as Patroni 3.0 does, with whatever the test
// makes it say: a crafted (or wrong, or hostile) Patroni, in front of real
// PostgreSQL servers. The same source against a real Patroni runs in test/ha.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CausewayError, type Cluster, type ClusterEvents, createCluster } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { clusterConfig } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

/** A member as `GET /cluster` lists it. */
interface Member {
  name: string
  role: string
  state: string
  host: string
  port: number
  timeline?: number
  lag?: number
}

/** An HTTP server answering `GET /cluster` with `members`, requiring basic auth when `authorization` is set. */
class CraftedPatroni {
  members: Member[] = []
  authorization: string | undefined
  requests = 0
  readonly #server: Server

  constructor() {
    this.#server = createServer((request, response) => {
      this.requests++
      if (this.authorization && request.headers.authorization !== this.authorization) {
        response.writeHead(401).end()
        return
      }
      if (request.url !== '/cluster') {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ members: this.members, scope: 'crafted' }))
    })
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

const hostOf = (url: string) => new URL(url).hostname

/** Our credentials at the foreign server's address. */
function onForeign(): string {
  const url = new URL(tc.primary.url)
  url.port = String(foreign.primary.port)
  return url.href
}

/** Members for the servers `[name, url]`, the first the leader (or `leader`). */
function membersOf(servers: readonly (readonly [string, string])[], leader: string | undefined): Member[] {
  return servers.map(([name, url]) => ({
    name,
    role: name === leader ? 'leader' : 'replica',
    state: 'running',
    host: hostOf(url),
    port: Number(new URL(url).port),
    timeline: 1,
  }))
}

let tc: TestCluster
let foreign: TestCluster
let patroni: CraftedPatroni
let restUrl: string
const open: Cluster[] = []

beforeAll(async () => {
  ;[tc, foreign] = await Promise.all([startCluster({ replicas: 2 }), startCluster({ replicas: 0 })])
  await Promise.all(
    [tc, foreign].map((c) => c.primary.query('create table t (id serial primary key, v int)')),
  )
  // The foreign server takes our credentials, as a careless or hostile one might:
  // only its system identifier tells it apart.
  const password = decodeURIComponent(new URL(tc.primary.url).password).replaceAll("'", "''")
  await foreign.primary.query(`alter role current_user password '${password}'`)
  patroni = new CraftedPatroni()
  restUrl = await patroni.listen()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
  patroni.authorization = undefined
})
afterAll(async () => {
  await patroni?.close()
  await Promise.all([tc?.close(), foreign?.close()])
})

function servers(): [string, string][] {
  return tc.nodes.map((node) => [node.name, node.url])
}

function causeway(extra: Parameters<typeof clusterConfig>[1] = {}): Cluster {
  const cluster = createCluster(
    clusterConfig(tc, {
      patroni: { urls: [restUrl], intervalMillis: 50 },
      health: { intervalMillis: 100 },
      writeWaitMillis: 300,
      ...extra,
    }),
  )
  open.push(cluster)
  return cluster
}

async function writtenOn(cluster: Cluster): Promise<number> {
  const { rows } = await cluster.query<{ port: number }>(
    'insert into t (v) values (1) returning inet_server_port() as port',
  )
  return rows[0]!.port
}

describe('patroni: a second source of truth beside the probes', () => {
  it('writes only to the node Patroni names, waits while it names another, and reports the disagreement', async () => {
    patroni.members = membersOf(servers(), tc.primary.name)
    const cluster = causeway()
    const disagreements: ClusterEvents['topology-disagreement'][] = []
    cluster.on('topology-disagreement', (e) => disagreements.push(e))
    await cluster.ready()
    expect(await writtenOn(cluster)).toBe(tc.primary.port)
    const status = cluster.status()
    expect(status.patroni).toMatchObject({ reachable: true, leader: tc.primary.name, members: 3 })
    expect(status.nodes.map((n) => n.patroni?.role)).toEqual(['leader', 'replica', 'replica'])

    // Patroni names a replica, which is still in recovery: nobody may write.
    const named = tc.replicas[0]!
    patroni.members = membersOf(servers(), named.name)
    await eventually(() => cluster.status().primary === undefined, 'writes to stop')
    await expect(writtenOn(cluster)).rejects.toMatchObject({ code: 'NO_PRIMARY' })
    // Reads still have their replicas.
    // Reads that need no earlier write still have their replicas. (The process
    // scope's reads follow its writes, and need the primary meanwhile.)
    const read = await cluster.session(() =>
      cluster.query<{ port: number }>('select inet_server_port() as port'),
    )
    expect(tc.replicas.map((r) => r.port)).toContain(read.rows[0]!.port)
    await eventually(() => disagreements.length === 2, 'two topology-disagreement events')
    expect(disagreements).toContainEqual({ node: named.name, patroni: 'leader', server: 'in recovery' })
    expect(disagreements).toContainEqual({ node: tc.primary.name, patroni: 'replica', server: 'writable' })
    expect(cluster.status().nodes.find((n) => n.name === named.name)?.patroni?.disagreement).toBe(
      'Patroni says leader, the server is in recovery',
    )

    // Patroni names no leader (a failover under way): still nobody.
    patroni.members = membersOf(servers(), undefined)
    await sleep(200)
    await expect(writtenOn(cluster)).rejects.toMatchObject({ code: 'NO_PRIMARY' })

    // Patroni and the servers agree again.
    patroni.members = membersOf(servers(), tc.primary.name)
    await eventually(() => cluster.status().primary === tc.primary.name, 'the primary to be back')
    expect(await writtenOn(cluster)).toBe(tc.primary.port)
  })

  it('falls back to the probes alone while no REST API answers, and never shows its password', async () => {
    // A closed port, with credentials in the URL.
    const closed = 'http://admin:rest-s3cret@127.0.0.1:1'
    const cluster = causeway({ patroni: { urls: [closed], intervalMillis: 50, timeoutMillis: 200 } })
    const unreachable: ClusterEvents['patroni-unreachable'][] = []
    cluster.on('patroni-unreachable', (e) => unreachable.push(e))
    await cluster.ready()
    expect(await writtenOn(cluster)).toBe(tc.primary.port)
    await eventually(() => unreachable.length === 1, 'patroni-unreachable')
    const status = cluster.status()
    expect(status.patroni?.reachable).toBe(false)
    const shown = JSON.stringify([unreachable, status])
    expect(shown).toContain('127.0.0.1:1')
    expect(shown).not.toContain('rest-s3cret')
    await sleep(200)
    expect(unreachable).toHaveLength(1) // once per outage, not once per poll
  })

  it('sends basic auth from the URL', async () => {
    patroni.members = membersOf(servers(), tc.primary.name)
    patroni.authorization = `Basic ${Buffer.from('admin:rest-s3cret').toString('base64')}`
    const withAuth = restUrl.replace('http://', 'http://admin:rest-s3cret@')
    const cluster = causeway({ patroni: { urls: ['http://127.0.0.1:1', withAuth], intervalMillis: 50 } })
    await cluster.ready()
    expect(cluster.status().patroni).toMatchObject({ reachable: true, leader: tc.primary.name })
    expect(cluster.status().patroni?.source).toBe(restUrl)
  })

  it('discovers members, never trusts a foreign server Patroni lists, and drops members Patroni drops', async () => {
    const [a, b] = tc.replicas as [TestCluster['primary'], TestCluster['primary']]
    const listed = (...extra: Member[]) => [
      ...membersOf([[tc.primary.name, tc.primary.url]], tc.primary.name),
      ...membersOf(
        [
          ['member-a', a.url],
          ['member-b', b.url],
        ],
        undefined,
      ),
      ...extra,
    ]
    const intruder = membersOf([['intruder', foreign.primary.url]], undefined)[0]!
    patroni.members = listed(intruder)
    const cluster = createCluster({
      primary: { connectionString: tc.primary.url, name: tc.primary.name },
      patroni: { urls: [restUrl], intervalMillis: 50, discover: true },
      health: { intervalMillis: 100 },
      writeWaitMillis: 300,
    })
    open.push(cluster)
    const removed: string[] = []
    cluster.on('replica-removed', (e) => removed.push(e.node))
    await cluster.ready()
    await eventually(
      () => cluster.status().nodes.filter((n) => n.state === 'healthy').length === 3,
      'the discovered replicas to be healthy',
    )
    const byName = () => new Map(cluster.status().nodes.map((n) => [n.name, n]))
    expect([...byName().keys()].sort()).toEqual(['intruder', 'member-a', 'member-b', tc.primary.name].sort())
    await eventually(() => byName().get('intruder')?.state === 'fenced', 'the foreign server to be fenced')
    expect(byName().get('intruder')?.state).toBe('fenced')
    expect(byName().get('intruder')?.reason).toMatch(/a different database cluster/)

    // Reads go to the discovered replicas, never to the foreign server.
    const ports = new Set<number>()
    for (let i = 0; i < 40; i++) {
      const { rows } = await cluster.query<{ port: number }>('select inet_server_port() as port')
      ports.add(rows[0]!.port)
    }
    expect(ports.has(foreign.primary.port)).toBe(false)
    expect([...ports].some((port) => port === a.port || port === b.port)).toBe(true)

    // A hostile answer naming the foreign server the leader: no write goes anywhere.
    patroni.members = listed({ ...intruder, role: 'leader' }).map((m) =>
      m.name === tc.primary.name ? { ...m, role: 'replica' } : m,
    )
    await eventually(() => cluster.status().primary === undefined, 'writes to stop')
    await expect(writtenOn(cluster)).rejects.toBeInstanceOf(CausewayError)
    const client = new pg.Client(onForeign())
    await client.connect()
    try {
      expect((await client.query('select count(*)::int as n from t')).rows[0].n).toBe(0)
    } finally {
      await client.end()
    }

    // Patroni drops member-b (and the intruder): the nodes it added go.
    patroni.members = listed().filter((m) => m.name !== 'member-b')
    await eventually(() => removed.length === 2, 'the dropped members to be removed')
    expect(removed.sort()).toEqual(['intruder', 'member-b'])
    expect(await writtenOn(cluster)).toBe(tc.primary.port)
  })

  it('keeps writing to the leader when a replica is promoted behind Patroni', async () => {
    patroni.members = membersOf(servers(), tc.primary.name)
    const cluster = causeway()
    const fenced: ClusterEvents['node-fenced'][] = []
    cluster.on('node-fenced', (e) => fenced.push(e))
    await cluster.ready()
    const rogue = tc.replicas[1]!
    // Someone runs pg_promote() on a replica while Patroni still holds the leader
    // key for the primary (say, in maintenance mode). By the probes alone, its
    // newer timeline would make it the primary.
    await rogue.promote()
    await cluster.checkHealth()
    await eventually(() => fenced.some((e) => e.node === rogue.name), 'the rogue to be fenced')
    expect(fenced.find((e) => e.node === rogue.name)?.reason).toBe(
      `writable, but Patroni's leader is ${tc.primary.name}`,
    )
    const ports = new Set<number>()
    for (let i = 0; i < 20; i++) ports.add(await writtenOn(cluster))
    expect([...ports]).toEqual([tc.primary.port])
    expect(cluster.status()).toMatchObject({ primary: tc.primary.name, timeline: 1 })
  })
})
