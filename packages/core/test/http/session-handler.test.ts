import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cluster, createCluster } from '../../src/cluster.js'
import { sessionHandler } from '../../src/http/session-handler.js'

let cluster: TestCluster
let causeway: Cluster
let server: Server
let base: string

beforeAll(async () => {
  cluster = await startCluster({ replicas: 1 })
  await cluster.primary.query('create table notes (id serial primary key, body text)')
  causeway = createCluster({
    primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    // Each request starts from its own token only: what it was handed, or nothing.
    consistency: { scope: 'session' },
  })
  await causeway.ready()
  // POST /notes writes a note and answers its id; GET /notes/<id> reads it back.
  server = createServer(
    sessionHandler(causeway, async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://here')
      if (req.method === 'POST') {
        const { rows } = await causeway.query<{ id: number }>(
          'insert into notes (body) values ($1) returning id',
          [url.searchParams.get('body')],
        )
        const body = JSON.stringify({ id: rows[0]!.id })
        const style = url.searchParams.get('style')
        if (style === 'writeHead') {
          // As Fastify and @hono/node-server answer: the headers first, then end().
          res.writeHead(201, { 'content-type': 'application/json' })
          res.end(body)
        } else if (style === 'stream') {
          // A streamed body: the headers go out with the first write.
          res.writeHead(200, { 'content-type': 'application/json' })
          res.write(body.slice(0, 3))
          res.write(body.slice(3))
          res.end()
        } else {
          res.setHeader('set-cookie', 'theme=dark; Path=/')
          res.end(body)
        }
        return
      }
      const { rows } = await causeway.query('select body from notes where id = $1', [
        Number(url.pathname.split('/')[2]),
      ])
      res.end(JSON.stringify({ found: rows.length === 1 }))
    }),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await causeway?.close()
  await cluster?.close()
})

async function writeNote(
  body: string,
  style = 'end',
): Promise<{ id: number; token: string | null; cookies: string[] }> {
  const response = await fetch(`${base}/notes?body=${body}&style=${style}`, { method: 'POST' })
  expect(response.status).toBe(style === 'writeHead' ? 201 : 200)
  const { id } = (await response.json()) as { id: number }
  return { id, token: response.headers.get('x-causeway-token'), cookies: response.headers.getSetCookie() }
}

async function readNote(
  id: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; found?: boolean; text: string }> {
  const response = await fetch(`${base}/notes/${id}`, { headers })
  const text = await response.text()
  return response.status === 200
    ? { status: 200, found: (JSON.parse(text) as { found: boolean }).found, text }
    : { status: response.status, text }
}

describe('sessionHandler (node:http, real cluster)', () => {
  it('hands back the token of the request’s writes in the header and in a cookie, keeping the app’s cookies', async () => {
    const { token, cookies } = await writeNote('hello')
    expect(token).toMatch(/^cw1\.[0-9]+\.1\.[0-9a-f]+$/)
    expect(cookies).toContain('theme=dark; Path=/')
    expect(cookies).toContain(`causeway_token=${token}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`)
  })

  // Regression (issue 12): a handler that calls writeHead() before end(), as Fastify 5
  // and @hono/node-server do, or streams its body, sent its headers before the
  // patched end() could add the token: it was silently dropped.
  it.each(['writeHead', 'stream'])('hands back the token when the handler answers with %s', async (style) => {
    const { id, token, cookies } = await writeNote(`via-${style}`, style)
    expect(id).toBeGreaterThan(0)
    expect(token).toMatch(/^cw1\./)
    expect(cookies.some((c) => c.startsWith('causeway_token='))).toBe(true)
  })

  it('sets no token on a response whose request wrote nothing', async () => {
    const response = await fetch(`${base}/notes/1`)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-causeway-token')).toBeNull()
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('answers a malformed token in the header with a 400 that does not echo it', async () => {
    const bad = 'cw1.<script>'
    const response = await readNote(1, { 'x-causeway-token': bad })
    expect(response.status).toBe(400)
    expect(response.text).toMatch(/invalid consistency token in the x-causeway-token header/)
    expect(response.text).not.toContain(bad)
  })

  it('ignores a malformed token in the cookie', async () => {
    const response = await readNote(1, { cookie: 'causeway_token=garbage; theme=dark' })
    expect(response.status).toBe(200)
  })

  it('makes a later request that sends the token back, in the header or the cookie, read the earlier write', async () => {
    const [replica] = cluster.replicas
    await replica!.pauseReplay()
    try {
      const { id, token } = await writeNote('read me back')
      // Without the token the read goes to the paused replica, which does not have the write…
      expect(await readNote(id)).toMatchObject({ status: 200, found: false })
      // …with it, it sees it (on the primary, as the replica cannot catch up).
      expect(await readNote(id, { 'x-causeway-token': token! })).toMatchObject({ found: true })
      expect(await readNote(id, { cookie: `theme=dark; causeway_token=${token}` })).toMatchObject({
        found: true,
      })
    } finally {
      await replica!.resumeReplay()
    }
  })
})
