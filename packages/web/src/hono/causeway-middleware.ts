import {
  readRequestToken,
  type SessionCluster,
  type TokenTransportOptions,
  tokenCookie,
  tokenTransport,
} from '@causeway/core'
import type { MiddlewareHandler } from 'hono'

/** Options of the Hono middleware: the header and cookie that carry the token. */
export interface CausewayHonoOptions extends TokenTransportOptions {}

/**
 * Hono middleware that runs the rest of each request in a read-your-writes
 * session, continuing from the client's token (the `x-causeway-token` header, else
 * the `causeway_token` cookie), and sets the newest token on the response's header
 * and cookie. The response is a value until Hono's adapter sends it, so the token
 * is in its headers before the first byte, streamed bodies included (a write made
 * by the stream after that is not covered). A malformed header is answered exactly
 * as core's `sessionHandler` answers it: 400, `text/plain`, without echoing it.
 *
 * Works under `@hono/node-server` and any runtime whose Hono keeps
 * `AsyncLocalStorage` context (Node, Bun, Deno).
 *
 * @example
 * import { Hono } from 'hono'
 * import { causeway } from '@causeway/web/hono'
 * const app = new Hono()
 * app.use(causeway(dialect.cluster))
 * app.post('/posts', async (c) => {
 *   await db.insertInto('posts').values(await c.req.json()).execute()
 *   return c.json({ ok: true }) // carries x-causeway-token and the causeway_token cookie
 * })
 */
export function causeway(cluster: SessionCluster, options: CausewayHonoOptions = {}): MiddlewareHandler {
  const transport = tokenTransport(options)
  return async (c, next) => {
    const { token, rejection } = readRequestToken(cluster, (name) => c.req.header(name), transport)
    if (rejection) return c.body(rejection.body, rejection.status, { 'content-type': rejection.contentType })
    await cluster.session(
      async () => {
        await next()
        // As sessionHandler does: no token (the primary is gone) sends the response without one.
        const newest = await cluster.token().catch(() => undefined)
        if (!newest) return
        c.header(transport.header, newest)
        const cookie = tokenCookie(transport, newest)
        if (cookie) c.header('set-cookie', cookie, { append: true })
      },
      token === undefined ? {} : { token },
    )
    return undefined
  }
}
