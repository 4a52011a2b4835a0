import type { SessionOptions } from '../consistency/scope-context.js'
import {
  readRequestToken,
  type TokenTransport,
  type TokenTransportOptions,
  tokenCookie,
  tokenTransport,
} from './request-token.js'

/** What the handler needs of a cluster: a `Cluster` fits. */
export interface SessionCluster {
  session<T>(fn: () => T | Promise<T>, options?: SessionOptions): Promise<T>
  token(): Promise<string | undefined>
  isValidToken(text: string): boolean
}

/** The parts of Node's `IncomingMessage` the handler reads. */
export interface TokenRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

/** The parts of Node's `ServerResponse` the handler writes. */
export interface TokenResponse {
  readonly headersSent: boolean
  setHeader(name: string, value: string | number | readonly string[]): unknown
  getHeader(name: string): unknown
  end(...args: unknown[]): unknown
  writeHead?(...args: unknown[]): unknown
  write?(...args: unknown[]): unknown
}

/** Options of {@link sessionHandler}: the header and cookie that carry the token. */
export interface SessionHandlerOptions extends TokenTransportOptions {}

/**
 * Wraps an HTTP handler (node:http, or any framework with Node's request and
 * response) so that each request runs in a read-your-writes session:
 *
 * 1. the token is read from the request header, else from the cookie (a malformed
 *    header is a 400; a malformed cookie is ignored);
 * 2. the handler runs in `cluster.session(…, { token })`;
 * 3. when the handler starts sending the response (`writeHead`, `write` or
 *    `end`), the session's newest token is set as the response header and cookie.
 *    The response waits for a token capture still in flight (a fraction of a
 *    millisecond after the last write), so the token covers every write made
 *    before the response began. Fastify and `@hono/node-server`, which call
 *    `writeHead` before `end`, and streamed bodies get it too.
 *
 * A client (or the browser, through the cookie) sends the token back, and its next
 * request reads its own writes even from another app instance. A malformed token in
 * the header is a 400, never a silent stale read.
 *
 * @example
 * import { createServer } from 'node:http'
 * createServer(sessionHandler(dialect.cluster, async (req, res) => {
 *   await db.insertInto('posts').values(post).execute()
 *   res.end('ok') // carries x-causeway-token and the causeway_token cookie
 * })).listen(3000)
 */
export function sessionHandler<Req extends TokenRequest, Res extends TokenResponse>(
  cluster: SessionCluster,
  handler: (req: Req, res: Res) => unknown,
  options: SessionHandlerOptions = {},
): (req: Req, res: Res) => Promise<void> {
  const transport = tokenTransport(options)
  return async (req, res) => {
    const { token, rejection } = readRequestToken(cluster, (name) => req.headers[name], transport)
    if (rejection) {
      ;(res as unknown as { statusCode: number }).statusCode = rejection.status
      res.setHeader('content-type', rejection.contentType)
      res.end(rejection.body)
      return
    }
    await cluster.session(
      async () => {
        attachToken(cluster, res, transport)
        await handler(req, res)
      },
      token === undefined ? {} : { token },
    )
  }
}

/**
 * Holds the response's first `writeHead`, `write` or `end` until the session's
 * token is known (a capture in flight takes a fraction of a millisecond), sets it
 * on the headers, then sends the held calls in their order. Frameworks that call
 * `writeHead` before `end` (Fastify, `@hono/node-server`) or stream the body with
 * `write` send headers before `end`: patching `end` alone found them sent.
 */
function attachToken(cluster: SessionCluster, res: TokenResponse, transport: TokenTransport) {
  const end = res.end.bind(res)
  const writeHead = res.writeHead?.bind(res)
  const write = res.write?.bind(res)
  let held: (() => void)[] | undefined
  let ready = false
  const afterToken = (call: () => void) => {
    if (ready) return call()
    if (held) {
      held.push(call)
      return
    }
    held = [call]
    // Runs inside the session: token() waits for a capture in flight.
    void cluster
      .token()
      .then(
        (token) => {
          if (!token || res.headersSent) return
          res.setHeader(transport.header, token)
          const cookie = tokenCookie(transport, token)
          if (cookie) appendCookie(res, cookie)
        },
        () => {},
      )
      .finally(() => {
        ready = true
        const calls = held ?? []
        held = undefined
        for (const next of calls) next()
      })
  }
  res.end = (...args: unknown[]) => {
    afterToken(() => end(...args))
    return res
  }
  if (writeHead) {
    res.writeHead = (...args: unknown[]) => {
      afterToken(() => writeHead(...args))
      return res
    }
  }
  if (write) {
    // Held writes report no backpressure: they are few, and sent in a moment.
    res.write = (...args: unknown[]) => {
      if (ready) return write(...args)
      afterToken(() => write(...args))
      return true
    }
  }
}

function appendCookie(res: TokenResponse, value: string): void {
  const existing = res.getHeader('set-cookie')
  const list =
    existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)]
  res.setHeader('set-cookie', [...list, value])
}
