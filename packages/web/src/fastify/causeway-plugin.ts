import { AsyncResource } from 'node:async_hooks'
import {
  readRequestToken,
  type SessionCluster,
  type TokenTransportOptions,
  tokenCookie,
  tokenTransport,
} from '@causeway/core'
import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

/** Options of the Fastify plugin. */
export interface CausewayFastifyOptions extends TokenTransportOptions {
  /** The cluster whose sessions the requests run in (`dialect.cluster`). */
  readonly cluster: SessionCluster
}

const plugin: FastifyPluginCallback<CausewayFastifyOptions> = (fastify, options, done) => {
  const { cluster } = options
  const transport = tokenTransport(options)
  // The session each request runs in, as an async context onSend re-enters.
  // Fastify's body parsers keep the context themselves (an AsyncResource).
  const sessions = new WeakMap<FastifyRequest, AsyncResource>()

  fastify.addHook('onRequest', (request, reply, next) => {
    const { token, rejection } = readRequestToken(cluster, (name) => request.headers[name], transport)
    if (rejection) {
      // Answered here: a callback hook that replies does not call next().
      reply.code(rejection.status).type(rejection.contentType).send(rejection.body)
      return
    }
    let entered = false
    cluster
      .session(
        () => {
          entered = true
          sessions.set(request, new AsyncResource('causeway.session'))
          // The later hooks and the handler run from this call, inside the session.
          next()
        },
        token === undefined ? {} : { token },
      )
      .catch((error: unknown) => {
        if (!entered) next(error as Error)
      })
  })

  // onSend runs before the status line and headers go out, streamed bodies
  // included, so the token covers every write the handler made before replying.
  fastify.addHook('onSend', (request, reply, payload, next) => {
    const session = sessions.get(request)
    if (!session) return next(null, payload)
    session
      .runInAsyncScope(() => cluster.token())
      .then(
        (token) => {
          if (!token) return
          reply.header(transport.header, token)
          // Fastify appends set-cookie values rather than replacing them.
          const cookie = tokenCookie(transport, token)
          if (cookie) reply.header('set-cookie', cookie)
        },
        // As sessionHandler does: no token (the primary is gone) sends the response without one.
        () => {},
      )
      .finally(() => next(null, payload))
  })
  done()
}

/**
 * A Fastify 5 plugin (wrapped with `fastify-plugin`, so its hooks apply to every
 * route) that runs each request in a read-your-writes session: opened in
 * `onRequest` with the client's token (the `x-causeway-token` header, else the
 * `causeway_token` cookie), and the newest token set on the response header and
 * cookie in `onSend`. A malformed header is answered exactly as core's
 * `sessionHandler` answers it: 400, `text/plain`, without echoing it.
 *
 * @example
 * import Fastify from 'fastify'
 * import { causeway } from '@causeway/web/fastify'
 * const app = Fastify()
 * await app.register(causeway, { cluster: dialect.cluster })
 * app.post('/posts', async (request) => {
 *   await db.insertInto('posts').values(request.body).execute()
 *   return { ok: true } // carries x-causeway-token and the causeway_token cookie
 * })
 */
export const causeway = fp(plugin, { fastify: '5.x', name: '@causeway/web/fastify' })
