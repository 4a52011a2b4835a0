import { createServer } from 'node:http'
import { withCauseway } from '@causeway/web/next'
import { getRequestListener } from '@hono/node-server'
import { chunks, listening, notes, type StartNotesApp } from './notes-app.js'

/**
 * Next.js route handlers, as Next calls them: a web-standard `Request` in, a
 * `Response` out. `@hono/node-server`'s request listener stands in for Next's
 * server, turning node:http traffic into `Request`s and sending `Response`s.
 */
export const startNext: StartNotesApp = async (db, integrated) => {
  const route = (handler: (request: Request) => Promise<Response>) =>
    integrated ? withCauseway(db, handler) : handler
  // app/notes/route.ts, app/notes/stream/route.ts, app/notes/[id]/route.ts
  const POST = route(async (request) => Response.json({ id: await notes.insert(db, await request.json()) }))
  const POSTStream = route(async (request) => {
    const id = await notes.insert(db, await request.json())
    const encoder = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks(id)) controller.enqueue(encoder.encode(chunk))
        controller.close()
      },
    })
    return new Response(body, { headers: { 'content-type': 'application/json' } })
  })
  const GET = route(async (request) =>
    Response.json({ found: await notes.found(db, new URL(request.url).pathname.split('/')[2]) }),
  )
  const router = (request: Request) => {
    const path = new URL(request.url).pathname
    if (request.method === 'POST' && path === '/notes') return POST(request)
    if (request.method === 'POST' && path === '/notes/stream') return POSTStream(request)
    return GET(request)
  }
  return listening(createServer(getRequestListener(router)))
}
