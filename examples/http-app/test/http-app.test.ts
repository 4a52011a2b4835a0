import { readFileSync } from 'node:fs'
import { type ClusterNode, startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DB_TYPES_FILE, runCodegen } from '../src/codegen.js'
import { migrations } from '../src/migrations.js'
import type { ServedBy } from '../src/served-by.js'
import { type Service, startService } from '../src/service.js'

let embedded: TestCluster
let service: Service
let replica: ClusterNode
// /metrics as scraped right after start, before any request.
let metricsAtStart: Sample[]

beforeAll(async () => {
  // One replica: a read without a token has nowhere else to go, so the control is sharp.
  embedded = await startCluster({ replicas: 1 })
  replica = embedded.replicas[0]!
  service = await startService({ primary: embedded.primary, replicas: embedded.replicas })
  metricsAtStart = parseMetrics(await (await fetch(`${service.base}/metrics`)).text())
  await service.cluster.ready()
})
afterAll(async () => {
  await service?.close()
  await embedded?.close()
})

interface Reply<T> {
  status: number
  body: T
  token: string | null
}

async function call<T>(
  path: string,
  init: { body?: unknown; token?: string | null } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.token) headers['x-causeway-token'] = init.token
  const response = await fetch(`${service.base}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  return {
    status: response.status,
    body: (await response.json()) as T,
    token: response.headers.get('x-causeway-token'),
  }
}

let emails = 0
const newUser = () =>
  call<{ id: number }>('/users', { body: { name: 'Ada', email: `ada${++emails}@example.com` } })

/** Write → read pairs across requests; counts the reads that missed their write (404). */
async function stalePairs(authorId: number, pairs: number, sendToken: boolean) {
  let stale = 0
  const servedBy: ServedBy[] = []
  for (let i = 0; i < pairs; i++) {
    const created = await call<{ id: number }>('/posts', { body: { authorId, title: `pair ${i}` } })
    expect(created.status).toBe(201)
    expect(created.token).toMatch(/^cw1\./)
    const read = await call<{ title: string; served_by: ServedBy }>(`/posts/${created.body.id}`, {
      token: sendToken ? created.token : null,
    })
    if (read.status === 404) stale++
    else {
      expect(read.status).toBe(200)
      expect(read.body.title).toBe(`pair ${i}`)
      servedBy.push(read.body.served_by)
    }
  }
  return { stale, servedBy }
}

describe('the migration, at start', () => {
  it('ran every migration, on the primary only (cluster.onPrimary): no statement reached the replica', async () => {
    expect(service.migrations.map(({ migrationName, status }) => ({ migrationName, status }))).toEqual(
      Object.keys(migrations).map((migrationName) => ({ migrationName, status: 'Success' })),
    )
    const history = await embedded.primary.query('select name from kysely_migration order by name')
    expect(history.map((row) => row.name)).toEqual(Object.keys(migrations))
    const statements = metricsAtStart.filter((s) => s.name === 'causeway_statements_total')
    const on = (role: string, intent: string) =>
      statements
        .filter((s) => s.labels.role === role && s.labels.intent === intent)
        .reduce((sum, s) => sum + s.value, 0)
    // The Migrator reads its history and lock tables, and writes the DDL.
    expect(on('primary', 'read')).toBeGreaterThan(0)
    expect(on('primary', 'write')).toBeGreaterThan(0)
    expect(statements.filter((s) => s.labels.role === 'replica').reduce((sum, s) => sum + s.value, 0)).toBe(0)
  })

  it('src/db.d.ts is what kysely-codegen makes of the migrated schema now, and names every table', async () => {
    expect(() => runCodegen(embedded.primary.url, { verify: true })).not.toThrow()
    const tables = await embedded.primary.query(
      "select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_migration%'",
    )
    expect(tables.length).toBeGreaterThan(0)
    const types = readFileSync(DB_TYPES_FILE, 'utf8')
    const db = /export interface DB \{([^}]*)\}/.exec(types)?.[1] ?? ''
    for (const { table_name } of tables) expect(db).toContain(`  ${table_name}: `)
  })
})

describe('read-your-writes across requests (@causeway/web/fastify), replica replay paused', () => {
  it('a read sending back the write’s token is never stale: on the primary while the replica lags, on the replica once it has replayed', async () => {
    const author = await newUser()
    expect(author.status).toBe(201)
    await replica.pauseReplay()
    try {
      const { stale, servedBy } = await stalePairs(author.body.id, 50, true)
      expect(stale).toBe(0)
      // The paused replica cannot prove it has the write: every read fell back.
      expect(new Set(servedBy.map((s) => s.role))).toEqual(new Set(['primary']))
    } finally {
      await replica.resumeReplay()
    }
    const created = await call<{ id: number }>('/posts', {
      body: { authorId: author.body.id, title: 'later' },
    })
    let read: Reply<{ served_by: ServedBy }>
    do read = await call(`/posts/${created.body.id}`, { token: created.token })
    while (read.body.served_by.role !== 'replica')
    expect(read.body.served_by).toEqual({ node: replica.name, role: 'replica' })
  })

  it('the token also travels in the cookie', async () => {
    const author = await newUser()
    await replica.pauseReplay()
    try {
      const response = await fetch(`${service.base}/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authorId: author.body.id, title: 'by cookie' }),
      })
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith('causeway_token='))
      expect(cookie).toBeDefined()
      const { id } = (await response.json()) as { id: number }
      const read = await fetch(`${service.base}/posts/${id}`, { headers: { cookie: cookie!.split(';')[0]! } })
      expect(read.status).toBe(200)
    } finally {
      await replica.resumeReplay()
    }
  })

  it('without the token (the control), a read can miss the write just made: the integration is what prevents it', async () => {
    const author = await newUser()
    await replica.pauseReplay()
    try {
      const { stale } = await stalePairs(author.body.id, 10, false)
      expect(stale).toBeGreaterThan(0)
    } finally {
      await replica.resumeReplay()
    }
  })

  it('a malformed token is answered 400, not with a stale read', async () => {
    const response = await fetch(`${service.base}/posts/1`, {
      headers: { 'x-causeway-token': 'cw1.garbage' },
    })
    expect(response.status).toBe(400)
  })
})

describe('routes', () => {
  it('GET /posts/:id?from=primary reads on the primary, the same row', async () => {
    const author = await newUser()
    const created = await call<{ id: number }>('/posts', { body: { authorId: author.body.id, title: 'p' } })
    const read = await call<{ id: number; served_by: ServedBy }>(`/posts/${created.body.id}?from=primary`)
    expect(read.status).toBe(200)
    expect(read.body.id).toBe(created.body.id)
    expect(read.body.served_by).toEqual({ node: embedded.primary.name, role: 'primary' })
  })

  it('GET /posts pages newest first, by keyset, to the end', async () => {
    const author = await newUser()
    let token = author.token
    const ids: number[] = []
    for (let i = 0; i < 5; i++) {
      const created = await call<{ id: number }>('/posts', {
        body: { authorId: author.body.id, title: `${i}` },
      })
      ids.push(created.body.id)
      token = created.token
    }
    const pages: number[][] = []
    let next: string | null = `/posts?limit=2&author=${author.body.id}`
    while (next) {
      const page: Reply<{ posts: { id: number }[]; next: string | null; served_by: ServedBy | null }> =
        await call(next, { token })
      expect(page.status).toBe(200)
      pages.push(page.body.posts.map((p) => p.id))
      expect(page.body.served_by).not.toBeNull()
      next = page.body.next
    }
    expect(pages).toEqual([ids.slice(3).reverse(), ids.slice(1, 3).reverse(), [ids[0]]])
  })

  it('a user reads back, and a duplicate email or an unknown author is refused, not a 500', async () => {
    const user = await newUser()
    const read = await call<{ id: number; email: string }>(`/users/${user.body.id}`, { token: user.token })
    expect(read.body).toMatchObject({ id: user.body.id, email: `ada${emails}@example.com` })
    const again = await call('/users', { body: { name: 'Ada', email: `ada${emails}@example.com` } })
    expect(again.status).toBe(409)
    const orphan = await call('/posts', { body: { authorId: 999_999, title: 'x' } })
    expect(orphan.status).toBe(422)
  })
})

describe('/metrics', () => {
  it('is Prometheus text that counts each statement where it ran', async () => {
    const author = await newUser()
    const before = parseMetrics(await (await fetch(`${service.base}/metrics`)).text())
    for (let i = 0; i < 3; i++) {
      await call('/posts', { body: { authorId: author.body.id, title: `m${i}` } })
      await call(`/users/${author.body.id}?from=primary`)
      await call(`/posts/1?from=primary`)
    }
    const response = await fetch(`${service.base}/metrics`)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const after = parseMetrics(await response.text())
    const count = (samples: Sample[], intent: string) =>
      samples.find(
        (s) =>
          s.name === 'causeway_statements_total' &&
          s.labels.node === embedded.primary.name &&
          s.labels.intent === intent &&
          s.labels.outcome === 'ok',
      )?.value ?? 0
    expect(count(after, 'write') - count(before, 'write')).toBe(3)
    expect(count(after, 'read') - count(before, 'read')).toBeGreaterThanOrEqual(3)
    expect(after.find((s) => s.name === 'causeway_node_up' && s.labels.node === replica.name)?.value).toBe(1)
  })
})

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses the text exposition format; throws on a line that is not a comment or a sample. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return samples
}
