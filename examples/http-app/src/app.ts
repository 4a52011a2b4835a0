import type { Cluster } from '@causeway/core'
import { onPrimary } from '@causeway/kysely'
import { causeway } from '@causeway/web/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Registry } from 'prom-client'
import type { DB } from './db.js'
import { type ServedBy, type ServerColumns, servedByColumns } from './served-by.js'

/** What {@link buildApp} serves from. */
export interface AppDeps {
  readonly db: Kysely<DB>
  /** The cluster behind `db`'s CausewayDialect: requests run in its sessions. */
  readonly cluster: Cluster
  /** The registry `registerCausewayMetrics` wrote to, served at `/metrics`. */
  readonly registry: Registry
  /** Names the server a row came from (see `serverNames`). */
  readonly servedBy: (row: ServerColumns) => ServedBy
}

const PAGE_MAX = 100

/**
 * The posts service on Fastify 5. `@causeway/web/fastify` runs each request in a
 * read-your-writes session: a response to a request that wrote carries the
 * `x-causeway-token` header (and the `causeway_token` cookie), and a request
 * that sends it back reads those writes, on a replica that has replayed them or
 * else on the primary, from any instance of the app. Every read says which
 * server answered it, in `served_by`.
 */
export async function buildApp({ db, cluster, registry, servedBy }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(causeway, { cluster })
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, _request, reply) => {
    // PostgreSQL's own verdicts, as HTTP: a duplicate email, a post by no such user.
    if (error.code === '23505') return reply.code(409).send({ error: 'already exists' })
    if (error.code === '23503') return reply.code(422).send({ error: 'refers to a row that does not exist' })
    if (error.statusCode && error.statusCode < 500) return reply.code(error.statusCode).send(error)
    return reply.code(500).send({ error: error.message })
  })

  app.post<{ Body: { name: string; email: string } }>(
    '/users',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'email'],
          properties: { name: { type: 'string' }, email: { type: 'string' } },
        },
      },
    },
    async (request, reply) => {
      const user = await db
        .insertInto('users')
        .values({ name: request.body.name, email: request.body.email })
        .returning('id')
        .executeTakeFirstOrThrow()
      return reply.code(201).send(user)
    },
  )

  app.get<{ Params: { id: number } }>(
    '/users/:id',
    { schema: { params: idParam } },
    async (request, reply) => {
      const row = await db
        .selectFrom('users')
        .select(['id', 'name', 'email', ...servedByColumns()])
        .where('id', '=', request.params.id)
        .executeTakeFirst()
      if (!row) return reply.code(404).send({ error: 'no such user' })
      const { server_port, in_recovery, ...user } = row
      return { ...user, served_by: servedBy({ server_port, in_recovery }) }
    },
  )

  app.post<{ Body: { authorId: number; title: string; body?: string; tags?: string[] } }>(
    '/posts',
    {
      schema: {
        body: {
          type: 'object',
          required: ['authorId', 'title'],
          properties: {
            authorId: { type: 'integer' },
            title: { type: 'string' },
            body: { type: 'string' },
            tags: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    async (request, reply) => {
      const { authorId, title, body, tags } = request.body
      const post = await db
        .insertInto('posts')
        .values({ author_id: authorId, title, body, tags })
        .returning('id')
        .executeTakeFirstOrThrow()
      return reply.code(201).send(post)
    },
  )

  // ?from=primary reads on the primary whatever the token says: the same row,
  // for comparison, from the one server that always has it.
  app.get<{ Params: { id: number }; Querystring: { from?: 'primary' } }>(
    '/posts/:id',
    {
      schema: {
        params: idParam,
        querystring: { type: 'object', properties: { from: { type: 'string', enum: ['primary'] } } },
      },
    },
    async (request, reply) => {
      let query = db
        .selectFrom('posts')
        .select(['id', 'author_id', 'title', 'body', 'tags', 'created_at', ...servedByColumns()])
        .where('id', '=', request.params.id)
      if (request.query.from === 'primary') query = query.withPlugin(onPrimary)
      const row = await query.executeTakeFirst()
      if (!row) return reply.code(404).send({ error: 'no such post' })
      const { server_port, in_recovery, ...post } = row
      return { ...post, served_by: servedBy({ server_port, in_recovery }) }
    },
  )

  // Keyset pagination, newest first: `before` is the last id of the previous page,
  // so a page stays right while posts are being added.
  app.get<{ Querystring: { limit: number; before?: number; author?: number } }>(
    '/posts',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: PAGE_MAX, default: 20 },
            before: { type: 'integer' },
            author: { type: 'integer' },
          },
        },
      },
    },
    async (request) => {
      const { limit, before, author } = request.query
      let query = db
        .selectFrom('posts')
        .select(['id', 'author_id', 'title', 'created_at', ...servedByColumns()])
        .orderBy('id', 'desc')
        // One more than asked: whether it comes back says whether there is a next page.
        .limit(limit + 1)
      if (before !== undefined) query = query.where('id', '<', before)
      if (author !== undefined) query = query.where('author_id', '=', author)
      const rows = await query.execute()
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      const next = rows.length > limit && last ? nextPage(request.query, last.id) : null
      return {
        posts: page.map(({ server_port: _, in_recovery: __, ...post }) => post),
        next,
        // Said by the rows themselves, so an empty page has none (asking would be another statement).
        served_by: rows[0] ? servedBy(rows[0]) : null,
      }
    },
  )

  app.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  )
  app.get('/status', async () => cluster.status())

  return app
}

const idParam = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const

function nextPage(query: { limit: number; author?: number }, before: number): string {
  const params = new URLSearchParams({ limit: String(query.limit), before: String(before) })
  if (query.author !== undefined) params.set('author', String(query.author))
  return `/posts?${params}`
}
