import { createServer } from 'node:http'
import { type Cluster, createCluster, sessionHandler } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startExpress } from './apps/express-app.js'
import { startFastify } from './apps/fastify-app.js'
import { startHono } from './apps/hono-app.js'
import { startNextActions } from './apps/next-actions-app.js'
import { startNext } from './apps/next-app.js'
import { listening, type NotesApp, type StartNotesApp } from './apps/notes-app.js'

const frameworks: [string, StartNotesApp][] = [
  ['express', startExpress],
  ['fastify', startFastify],
  ['hono', startHono],
  ['next', startNext],
]

const PAIRS = 200

let cluster: TestCluster
let db: Cluster
// How core's sessionHandler answers a malformed token: every integration must match it.
let reference: { status: number; contentType: string | null; text: string }

beforeAll(async () => {
  cluster = await startCluster({ replicas: 1 })
  await cluster.primary.query('create table notes (id serial primary key, body text)')
  db = createCluster({
    primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    // Each request starts from the token it was handed, or from nothing.
    consistency: { scope: 'session' },
  })
  await db.ready()
  const plain = await listening(createServer(sessionHandler(db, (_req, res) => res.end('ok'))))
  try {
    const response = await fetch(plain.base, { headers: { 'x-causeway-token': 'cw1.<script>' } })
    reference = {
      status: response.status,
      contentType: response.headers.get('content-type'),
      text: await response.text(),
    }
  } finally {
    await plain.close()
  }
})

afterAll(async () => {
  await db?.close()
  await cluster?.close()
})

async function write(app: NotesApp, body: string, path = '/notes') {
  const response = await fetch(`${app.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ body }),
  })
  expect(response.status).toBe(200)
  const { id } = (await response.json()) as { id: number }
  return { id, token: response.headers.get('x-causeway-token'), cookies: response.headers.getSetCookie() }
}

async function found(app: NotesApp, id: number, headers: Record<string, string> = {}): Promise<boolean> {
  const response = await fetch(`${app.base}/notes/${id}`, { headers })
  expect(response.status).toBe(200)
  return ((await response.json()) as { found: boolean }).found
}

/** Write → read pairs, the read sending back what the write handed out; counts the reads that missed their write. */
async function stalePairs(app: NotesApp, pairs: number, via: 'header' | 'cookie'): Promise<number> {
  const [replica] = cluster.replicas
  // A paused replica keeps answering reads, without the writes made since: only
  // a read that continues from its write's token avoids it.
  await replica!.pauseReplay()
  try {
    let stale = 0
    for (let i = 0; i < pairs; i++) {
      const { id, token } = await write(app, `pair ${i}`)
      const headers: Record<string, string> =
        token === null
          ? {}
          : via === 'header'
            ? { 'x-causeway-token': token }
            : { cookie: `causeway_token=${token}` }
      if (!(await found(app, id, headers))) stale++
    }
    return stale
  } finally {
    await replica!.resumeReplay()
  }
}

describe.each(frameworks)('%s integration (real HTTP, real cluster)', (_name, start) => {
  let app: NotesApp
  beforeAll(async () => {
    app = await start(db, true)
  })
  afterAll(async () => {
    await app?.close()
  })

  it('hands back the token of the request’s write in the header and in a cookie', async () => {
    const { token, cookies } = await write(app, 'hello')
    expect(token).toMatch(/^cw1\.[0-9]+\.1\.[0-9a-f]+$/)
    expect(cookies).toContain(`causeway_token=${token}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`)
  })

  it('sets no token on a response whose request wrote nothing', async () => {
    const response = await fetch(`${app.base}/notes/1`)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-causeway-token')).toBeNull()
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it(`reads its own write in the next request: 0 stale in ${PAIRS} pairs over a paused replica`, async () => {
    expect(await stalePairs(app, PAIRS, 'header')).toBe(0)
  })

  it('reads its own write when the token comes back in the cookie', async () => {
    expect(await stalePairs(app, 10, 'cookie')).toBe(0)
  })

  it('hands back the token with a streamed body, and it covers the write', async () => {
    const [replica] = cluster.replicas
    await replica!.pauseReplay()
    try {
      const { id, token } = await write(app, 'streamed', '/notes/stream')
      expect(token).toMatch(/^cw1\./)
      expect(await found(app, id, { 'x-causeway-token': token! })).toBe(true)
    } finally {
      await replica!.resumeReplay()
    }
  })

  it('answers a malformed token exactly as core’s sessionHandler does, without echoing it', async () => {
    const bad = 'cw1.<script>'
    const response = await fetch(`${app.base}/notes/1`, { headers: { 'x-causeway-token': bad } })
    const answer = {
      status: response.status,
      contentType: response.headers.get('content-type'),
      text: await response.text(),
    }
    expect(answer).toEqual(reference)
    expect(reference).toEqual({
      status: 400,
      contentType: 'text/plain; charset=utf-8',
      text: 'invalid consistency token in the x-causeway-token header\n',
    })
    expect(answer.text).not.toContain(bad)
  })

  it('ignores a malformed token in the cookie', async () => {
    expect(await found(app, 1, { cookie: 'causeway_token=garbage; theme=dark' })).toBe(true)
  })
})

// The control: the same apps without the integration hand out no token, and the
// pairs above read stale. This is what those tests catch.
describe.each(frameworks)('%s without the integration (control)', (_name, start) => {
  let app: NotesApp
  beforeAll(async () => {
    app = await start(db, false)
  })
  afterAll(async () => {
    await app?.close()
  })

  it('hands out no token, and a read after a write misses it on a paused replica', async () => {
    const { token } = await write(app, 'plain')
    expect(token).toBeNull()
    expect(await stalePairs(app, 5, 'header')).toBe(5)
  })
})

describe('next server actions (withCausewayAction over cookies(), real HTTP)', () => {
  let app: NotesApp
  let plain: NotesApp
  beforeAll(async () => {
    app = await startNextActions(db, true)
    plain = await startNextActions(db, false)
  })
  afterAll(async () => {
    await app?.close()
    await plain?.close()
  })

  async function call(target: NotesApp, name: string, args: unknown[], cookie?: string) {
    const response = await fetch(`${target.base}/actions/${name}`, {
      method: 'POST',
      headers: cookie === undefined ? {} : { cookie },
      body: JSON.stringify(args),
    })
    expect(response.status).toBe(200)
    // What the browser would send back: the cookies' name=value parts.
    const jar = response.headers.getSetCookie().map((line) => line.split(';')[0]!)
    return {
      result: (await response.json()) as unknown,
      cookie: jar.join('; '),
      setCookie: response.headers.getSetCookie(),
    }
  }

  async function stale(target: NotesApp, pairs: number): Promise<number> {
    const [replica] = cluster.replicas
    await replica!.pauseReplay()
    try {
      let misses = 0
      for (let i = 0; i < pairs; i++) {
        const created = await call(target, 'createNote', [`action ${i}`])
        const read = await call(target, 'hasNote', [created.result], created.cookie || undefined)
        if (read.result !== true) misses++
      }
      return misses
    } finally {
      await replica!.resumeReplay()
    }
  }

  it('sets the token cookie, with the attributes every integration uses', async () => {
    const { setCookie } = await call(app, 'createNote', ['hello'])
    expect(setCookie).toHaveLength(1)
    expect(setCookie[0]).toMatch(/^causeway_token=cw1\.[^;]+; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/)
  })

  it(`reads its own write in the next action: 0 stale in ${PAIRS} pairs over a paused replica`, async () => {
    expect(await stale(app, PAIRS)).toBe(0)
  })

  it('ignores a malformed token cookie', async () => {
    const { result } = await call(app, 'hasNote', [1], 'causeway_token=garbage')
    expect(result).toBe(true)
  })

  it('without the wrapper (control) sets no cookie and reads stale', async () => {
    const { setCookie } = await call(plain, 'createNote', ['plain'])
    expect(setCookie).toEqual([])
    expect(await stale(plain, 5)).toBe(5)
  })
})
