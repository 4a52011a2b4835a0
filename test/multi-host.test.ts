// libpq multi-host connection strings (issue 11, item 3): a primary given as a
// host list follows whichever host is writable; a replica entry's hosts each serve reads.
import { type Cluster, createCluster } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './support/wait.js'

let test: TestCluster
let cluster: Cluster | undefined
let systemId: string

beforeAll(async () => {
  test = await startCluster({ replicas: 3 })
  await test.primary.query('create table hits (n int)')
  const [row] = await test.primary.query<{ id: string }>(
    'select system_identifier::text as id from pg_control_system()',
  )
  systemId = row!.id
})
afterAll(async () => {
  await cluster?.close()
  await test?.close()
})

describe('multi-host connection strings on a real cluster', () => {
  it('follows the writable host of a multi-host primary listing a replica first, and reads from every replica host', async () => {
    const [pg1, pg2, pg3, pg4] = test.nodes
    const { username, password, pathname } = new URL(pg1!.url)
    const user = decodeURIComponent(username)
    const secret = decodeURIComponent(password)
    const database = decodeURIComponent(pathname.slice(1))
    // pg2 (a standby) first, the real primary pg1 second.
    const primaryUrl = `postgres://${username}:${password}@127.0.0.1:${pg2!.port},127.0.0.1:${pg1!.port}/${pathname.slice(1)}?target_session_attrs=read-write&application_name=multi-host`
    const replicas = `host=127.0.0.1,127.0.0.1 port=${pg3!.port},${pg4!.port} user=${user} password='${secret.replace(/['\\]/g, '\\$&')}' dbname=${database} target_session_attrs=standby`
    cluster = createCluster({
      primary: { connectionString: primaryUrl, name: 'rw' },
      replicas: [replicas],
      systemId,
      // Reads outside a session carry no token: where they go shows routing alone.
      consistency: { scope: 'session' },
      health: { intervalMillis: 50, timeoutMillis: 1_000, upAfter: 1 },
    })
    await cluster.ready()
    const name = (port: number) => `127.0.0.1:${port}`
    await eventually(
      () => cluster!.status().primary === `rw-${name(pg1!.port)}`,
      'the writable candidate to be the primary',
    )

    // Writes reach the real primary, whichever candidate was listed first.
    for (let i = 0; i < 5; i++) {
      const written = await cluster.query<{ port: number }>(
        'insert into hits values ($1) returning inet_server_port() as port',
        [i],
      )
      expect(written.rows[0]!.port).toBe(pg1!.port)
    }
    expect(await pg1!.query('select count(*)::int as n from hits')).toEqual([{ n: 5 }])

    // Reads go to the standbys: the primary's other candidate and the replica entry's hosts.
    const standbys = [pg2!.port, pg3!.port, pg4!.port]
    await eventually(
      () =>
        cluster!
          .status()
          .nodes.filter((n) => standbys.some((p) => n.name.endsWith(`:${p}`)))
          .every((n) => n.state === 'healthy'),
      'every standby to be healthy',
    )
    for (const standby of [pg2!, pg3!, pg4!]) {
      await eventually(
        async () => (await standby.query<{ n: number }>('select count(*)::int as n from hits'))[0]!.n === 5,
        'the standby to have replayed the writes',
      )
    }
    const served = new Set<number>()
    for (let i = 0; i < 60; i++) {
      const read = await cluster.query<{ port: number }>('select inet_server_port() as port')
      served.add(read.rows[0]!.port)
    }
    expect([...served].sort()).toEqual([...standbys].sort())

    const status = cluster.status()
    expect(status.nodes.map((n) => n.name).sort()).toEqual(
      [`rw-${name(pg2!.port)}`, `rw-${name(pg1!.port)}`, name(pg3!.port), name(pg4!.port)].sort(),
    )
    // Query parameters reach pg, and credentials reach no status.
    const [app] = await pg1!.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where application_name = 'multi-host'`,
    )
    expect(app!.n).toBeGreaterThan(0)
    expect(JSON.stringify(status)).not.toContain(secret)
  })
})
