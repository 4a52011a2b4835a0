// `pnpm demo`: an embedded PostgreSQL primary with two streaming replicas, and typed
// Kysely queries split between them by CausewayDialect. For each query it prints the
// SQL and the node that served it. `pnpm demo --watch` then keeps a live view.
import { readFileSync } from 'node:fs'
import type { ClusterEvents } from '@causeway/core'
import { CausewayDialect, onPrimary } from '@causeway/kysely'
import { startCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import type { DB } from './db/types.generated.js'
import { printStatus, step, waitUntil } from './show.js'

const watch = process.argv.includes('--watch')
const started = performance.now()
console.log('Starting an embedded cluster: a primary and 2 streaming replicas (PostgreSQL 18)')
const cluster = await startCluster({
  onProgress: (line) => console.log(`  [${((performance.now() - started) / 1000).toFixed(2)}s] ${line}`),
})

// The one change an app makes: CausewayDialect where PostgresDialect was.
const dialect = new CausewayDialect({
  primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
  replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
})
const db = new Kysely<DB>({ dialect })
const causeway = dialect.cluster
causeway.on('fallback', (e: ClusterEvents['fallback']) =>
  console.log(`    ↪ fallback to the primary: ${e.reason}`),
)
causeway.on('read-retried', (e: ClusterEvents['read-retried']) =>
  console.log(`    ↪ ${e.from} failed (${e.error}); read retried on ${e.to}`),
)

let closed = false
async function shutdown(): Promise<void> {
  if (closed) return
  closed = true
  await db.destroy()
  await cluster.close()
  console.log('\nCluster stopped; no server left running.')
}

try {
  await step(causeway, 'Create the schema (DDL goes to the primary)', () =>
    sql.raw(readFileSync(new URL('./db/schema.sql', import.meta.url), 'utf8')).execute(db),
  )
  await step(causeway, 'Insert rows (writes go to the primary)', async () => {
    const users = await db
      .insertInto('users')
      .values([
        { name: 'Ada', email: 'ada@example.com' },
        { name: 'Grace', email: 'grace@example.com' },
      ])
      .returning('id')
      .execute()
    await db
      .insertInto('posts')
      .values(users.map((u, i) => ({ author_id: u.id, title: `Post ${i + 1}`, published: true })))
      .execute()
  })
  await step(causeway, 'Typed reads (on replicas that prove they have the writes)', async () => {
    // The inserts' token: until it is captured (about a millisecond), reads go to the
    // primary, which has the writes; after, each replica proves it has them too.
    await causeway.token()
    await db.selectFrom('users').select(['id', 'name']).where('email', '=', 'ada@example.com').execute()
    await db
      .selectFrom('posts')
      .innerJoin('users', 'users.id', 'posts.author_id')
      .select(['posts.title', 'users.name'])
      .where('posts.published', '=', true)
      .execute()
    await db
      .selectFrom('posts')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .execute()
  })
  await step(
    causeway,
    'Read your own write in a session (one HTTP request, say): at once on the primary, then, once its token is known, on a replica that proves it has the write',
    () =>
      causeway.session(async () => {
        const post = await db
          .insertInto('posts')
          .values({ author_id: 1, title: 'Fresh' })
          .returning('id')
          .executeTakeFirstOrThrow()
        await db.selectFrom('posts').select('title').where('id', '=', post.id).executeTakeFirstOrThrow()
        await causeway.token()
        await db.selectFrom('posts').select('title').where('id', '=', post.id).executeTakeFirstOrThrow()
      }),
  )
  await step(causeway, 'Writes hidden in reads go to the primary', async () => {
    await db
      .transaction()
      .execute((tx) => tx.selectFrom('users').selectAll().where('id', '=', 1).forUpdate().execute())
    await db.selectFrom('users').selectAll().withPlugin(onPrimary).execute()
  })

  console.log('\nStopping both replicas…')
  await Promise.all(cluster.replicas.map((node) => node.stop({ mode: 'immediate' })))
  await step(causeway, 'Reads with every replica down: they fall back to the primary, no error', async () => {
    for (let i = 0; i < 3; i++) await db.selectFrom('users').select('name').execute()
  })
  console.log('\nStarting the replicas again…')
  await Promise.all(cluster.replicas.map((node) => node.start()))
  await waitUntil(() => causeway.status().nodes.every((n) => n.state === 'healthy'), 15_000)
  await step(causeway, 'Reads are back on the replicas', async () => {
    for (let i = 0; i < 3; i++) await db.selectFrom('users').select('name').execute()
  })

  printStatus(causeway.status())

  if (watch) {
    console.log('\nWatching: a write and a few reads a second. Ctrl-C to stop.')
    const timer = setInterval(async () => {
      if (closed) return
      await db.insertInto('posts').values({ author_id: 1, title: 'tick' }).execute()
      for (let i = 0; i < 5; i++) await db.selectFrom('posts').select('id').limit(1).execute()
      console.clear()
      console.log(`Live view, ${new Date().toLocaleTimeString()} (Ctrl-C to stop)`)
      printStatus(causeway.status())
    }, 1_000)
    await new Promise<void>((resolve) => process.once('SIGINT', resolve))
    clearInterval(timer)
  }
} finally {
  await shutdown()
}
