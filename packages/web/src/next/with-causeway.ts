import {
  readRequestToken,
  type SessionCluster,
  type TokenTransport,
  type TokenTransportOptions,
  tokenCookie,
  tokenTransport,
} from '@causeway/core'

/** Options of {@link withCauseway}: the header and cookie that carry the token. */
export interface CausewayRouteOptions extends TokenTransportOptions {}

/**
 * Wraps a web-standard handler (`Request` → `Response`: a Next.js route handler,
 * or anything served by a fetch-style adapter) so that it runs in a read-your-writes
 * session continuing from the client's token (the `x-causeway-token` header, else
 * the `causeway_token` cookie), and its response carries the newest token in the
 * header and a cookie. A `Response` is a value until it is sent, so the token is
 * in its headers before the first byte, streamed bodies included. A malformed
 * header is answered exactly as core's `sessionHandler` answers it: 400,
 * `text/plain`, without echoing it.
 *
 * @example
 * // app/posts/route.ts
 * import { withCauseway } from '@causeway/web/next'
 * export const POST = withCauseway(dialect.cluster, async (request: Request) => {
 *   await db.insertInto('posts').values(await request.json()).execute()
 *   return Response.json({ ok: true })
 * })
 */
export function withCauseway<Args extends unknown[]>(
  cluster: SessionCluster,
  handler: (request: Request, ...rest: Args) => Response | Promise<Response>,
  options: CausewayRouteOptions = {},
): (request: Request, ...rest: Args) => Promise<Response> {
  const transport = tokenTransport(options)
  return async (request, ...rest) => {
    const { token, rejection } = readRequestToken(cluster, (name) => request.headers.get(name), transport)
    if (rejection) {
      return new Response(rejection.body, {
        status: rejection.status,
        headers: { 'content-type': rejection.contentType },
      })
    }
    return cluster.session(
      async () => {
        const response = await handler(request, ...rest)
        // As sessionHandler does: no token (the primary is gone) sends the response without one.
        const newest = await cluster.token().catch(() => undefined)
        return newest ? withToken(response, transport, newest) : response
      },
      token === undefined ? {} : { token },
    )
  }
}

function withToken(response: Response, transport: TokenTransport, token: string): Response {
  const cookie = tokenCookie(transport, token)
  const set = (headers: Headers) => {
    headers.set(transport.header, token)
    if (cookie) headers.append('set-cookie', cookie)
  }
  try {
    set(response.headers)
    return response
  } catch {
    // Response.redirect() and fetched responses have immutable headers: copy it.
    const copy = new Response(response.body, response)
    set(copy.headers)
    return copy
  }
}
