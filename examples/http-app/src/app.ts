import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { sessionHandler } from '@causeway/core'
import type { DB } from '@causeway/example-quick-start/db'
import type { CausewayDialect } from '@causeway/kysely'
import { type Kysely, sql } from 'kysely'

/**
 * A small JSON API on node:http. Every request runs in a read-your-writes session:
 * the `x-causeway-token` header (or the `causeway_token` cookie) a response carries
 * makes the client's next request see that response's writes, on any app instance,
 * while its reads still go to replicas that have caught up.
 *
 *   POST /posts {"authorId":1,"title":"…"}  → 201 {"id":…}
 *   GET  /posts/:id                        → 200 {"id":…,"title":…,"servedBy":"pg2"}
 *   GET  /status                           → the cluster's status()
 */
export function createApp(
  db: Kysely<DB>,
  dialect: CausewayDialect,
  nodeAt: (port: number) => string = (port) => `port ${port}`,
): Server {
  const handler = sessionHandler(dialect.cluster, async (req: IncomingMessage, res: ServerResponse) => {
    try {
      await route(req, res)
    } catch (error) {
      send(res, 500, { error: (error as Error).message })
    }
  })

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://app')
    if (req.method === 'POST' && url.pathname === '/posts') {
      const body = JSON.parse(await readBody(req)) as { authorId: number; title: string }
      const post = await db
        .insertInto('posts')
        .values({ author_id: body.authorId, title: body.title })
        .returning('id')
        .executeTakeFirstOrThrow()
      return send(res, 201, post)
    }
    const match = /^\/posts\/(\d+)$/.exec(url.pathname)
    if (req.method === 'GET' && match) {
      const post = await db
        .selectFrom('posts')
        .select(['id', 'title', sql<number>`inet_server_port()`.as('port')])
        .where('id', '=', Number(match[1]))
        .executeTakeFirst()
      if (!post) return send(res, 404, { error: 'no such post' })
      return send(res, 200, { id: post.id, title: post.title, servedBy: nodeAt(post.port) })
    }
    if (req.method === 'GET' && url.pathname === '/status') return send(res, 200, dialect.cluster.status())
    send(res, 404, { error: 'not found' })
  }

  return createServer(handler)
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(body))
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      text += chunk
    })
    req.on('end', () => resolve(text))
    req.on('error', reject)
  })
}
