// An HTTP app whose requests read their own writes across requests, through the
// x-causeway-token header. Starts an embedded cluster and the app, plays a client
// that writes and reads back at once, then exits; `--serve` keeps serving until Ctrl-C.
//   pnpm --filter @causeway/example-http-app start [-- --serve]
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { DB } from '@causeway/example-quick-start/db'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import { createApp } from './app.js'

const cluster = await startCluster()
const dialect = new CausewayDialect({
  primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
  replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
  // Only requests carry tokens: no process-wide read-your-writes.
  consistency: { scope: 'session' },
})
const db = new Kysely<DB>({ dialect })
const schema = readFileSync(
  createRequire(import.meta.url).resolve('@causeway/example-quick-start/schema.sql'),
  'utf8',
)
await sql.raw(schema).execute(db)
await db.insertInto('users').values({ name: 'Ada', email: 'ada@example.com' }).execute()

const names = new Map(cluster.nodes.map((node) => [node.port, node.name]))
const server = createApp(db, dialect, (port) => names.get(port) ?? `port ${port}`)
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
console.log(`app listening on ${base}`)

// A client: create a post, then read it back at once, handing the token over.
const created = await fetch(`${base}/posts`, {
  method: 'POST',
  body: JSON.stringify({ authorId: 1, title: 'Hello' }),
})
const token = created.headers.get('x-causeway-token') ?? ''
const { id } = (await created.json()) as { id: number }
console.log(`POST /posts → ${created.status}, id ${id}, x-causeway-token: ${token}`)
const read = await fetch(`${base}/posts/${id}`, { headers: { 'x-causeway-token': token } })
console.log(`GET /posts/${id} with the token → ${read.status}`, await read.json())

if (process.argv.includes('--serve')) {
  console.log(`serving until Ctrl-C; try: curl -i ${base}/posts/${id}`)
  await new Promise<void>((resolve) => process.once('SIGINT', resolve))
}
await new Promise((resolve) => server.close(resolve))
await db.destroy()
await cluster.close()
