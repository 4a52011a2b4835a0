import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { DB } from '@causeway/example-quick-start/db'
import { CausewayDialect } from '@causeway/kysely'
import { type ClusterNode, startCluster, type TestCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'

let cluster: TestCluster
let db: Kysely<DB>
let base: string
let close: () => Promise<void>

beforeAll(async () => {
  cluster = await startCluster()
  const dialect = new CausewayDialect({
    primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    consistency: { scope: 'session' },
  })
  db = new Kysely<DB>({ dialect })
  await sql
    .raw(
      readFileSync(
        createRequire(import.meta.url).resolve('@causeway/example-quick-start/schema.sql'),
        'utf8',
      ),
    )
    .execute(db)
  await db.insertInto('users').values({ name: 'Ada', email: 'ada@example.com' }).execute()
  const names = new Map(cluster.nodes.map((node) => [node.port, node.name]))
  const server = createApp(db, dialect, (port) => names.get(port) ?? `port ${port}`)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await dialect.cluster.ready()
  close = async () => {
    await new Promise((resolve) => server.close(resolve))
    await db.destroy()
    await cluster.close()
  }
})
afterAll(() => close())

const create = (title: string) =>
  fetch(`${base}/posts`, { method: 'POST', body: JSON.stringify({ authorId: 1, title }) })

describe('the HTTP example', () => {
  it('hands out a token and a cookie with a write, and a request carrying either reads the write, even with a replica paused', async () => {
    const [paused] = cluster.replicas as [ClusterNode]
    await paused.pauseReplay()
    try {
      for (let i = 0; i < 10; i++) {
        const created = await create(`post ${i}`)
        expect(created.status).toBe(201)
        const token = created.headers.get('x-causeway-token')
        expect(token).toMatch(/^cw1\./)
        expect(created.headers.get('set-cookie')).toMatch(
          /^causeway_token=cw1\.[^;]+; Path=\/; Max-Age=60; HttpOnly/,
        )
        const { id } = (await created.json()) as { id: number }
        const byHeader = await fetch(`${base}/posts/${id}`, { headers: { 'x-causeway-token': token! } })
        expect(byHeader.status).toBe(200)
        const body = (await byHeader.json()) as { title: string; servedBy: string }
        expect(body.title).toBe(`post ${i}`)
        expect(body.servedBy).not.toBe(paused.name)
        const byCookie = await fetch(`${base}/posts/${id}`, {
          headers: { cookie: `causeway_token=${token}` },
        })
        expect(byCookie.status).toBe(200)
      }
    } finally {
      await paused.resumeReplay()
    }
  })

  it('answers a malformed token with 400, not a stale read', async () => {
    const response = await fetch(`${base}/posts/1`, { headers: { 'x-causeway-token': 'cw1.garbage' } })
    expect(response.status).toBe(400)
    expect(await response.text()).toMatch(/invalid consistency token in the x-causeway-token header/)
  })

  // Regression: an undecodable cookie threw outside any handler and crashed the server.
  it('ignores a malformed or undecodable cookie, and keeps serving', async () => {
    // Without a usable token a read may go to any replica: let them all have post 1
    // (an earlier test paused one's replay), so that 200 is the only right answer.
    for (const replica of cluster.replicas) {
      while ((await replica.query('select 1 from posts where id = 1')).length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    for (const cookie of ['causeway_token=%E0%A4%A', 'causeway_token=cw1.garbage', 'causeway_token=']) {
      const response = await fetch(`${base}/posts/1`, { headers: { cookie } })
      expect(response.status).toBe(200)
    }
  })

  it('sends no token from a request that wrote nothing', async () => {
    const response = await fetch(`${base}/status`)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-causeway-token')).toBeNull()
  })
})
