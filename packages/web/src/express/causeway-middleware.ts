import { type SessionCluster, type SessionHandlerOptions, sessionHandler } from '@causeway/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'

/** Options of the Express middleware: the header and cookie that carry the token. */
export interface CausewayExpressOptions extends SessionHandlerOptions {}

/**
 * Express 5 middleware that runs the rest of each request (later middleware and
 * the route) in a read-your-writes session. It is core's `sessionHandler` with
 * `next` as the handler, so the policy is the same to the byte: the token is read
 * from the `x-causeway-token` header, else the `causeway_token` cookie; a malformed
 * header is a 400; the newest token is set on the response header and cookie when
 * the response starts (`res.send`, `res.json`, `writeHead`, a streamed `write`).
 *
 * Register it before the routes that query, and before body parsers is fine:
 * Express's parsers keep the request's async context.
 *
 * @example
 * import express from 'express'
 * import { causeway } from '@causeway/web/express'
 * const app = express()
 * app.use(causeway(dialect.cluster))
 * app.post('/posts', async (req, res) => {
 *   await db.insertInto('posts').values(req.body).execute()
 *   res.json({ ok: true }) // carries x-causeway-token and the causeway_token cookie
 * })
 */
export function causeway(cluster: SessionCluster, options: CausewayExpressOptions = {}): RequestHandler {
  // One wrapped handler for all requests; `next` travels with the request.
  const pending = new WeakMap<Request, NextFunction>()
  const handle = sessionHandler<Request, Response>(
    cluster,
    (req) => {
      const next = pending.get(req)
      pending.delete(req)
      next?.()
    },
    options,
  )
  return (req, res, next) => {
    pending.set(req, next)
    handle(req, res).catch(next)
  }
}
