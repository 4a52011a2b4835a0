import type { SessionCluster } from './session-handler.js'

/** Where the token travels: the names and the cookie's lifetime (options of `sessionHandler` and the framework integrations). */
export interface TokenTransportOptions {
  /** The request and response header that carries the token. Default `x-causeway-token`. */
  readonly header?: string
  /** The cookie that carries it, or `false` for none. Default `causeway_token`. */
  readonly cookie?: string | false
  /** The cookie's lifetime. Default 60 s: a token only matters until replicas catch up. */
  readonly cookieMaxAgeSeconds?: number
}

/** {@link TokenTransportOptions} with the defaults filled in. */
export interface TokenTransport {
  /** Lower case, as Node and `Headers` present header names. */
  readonly header: string
  readonly cookie: string | false
  readonly cookieMaxAgeSeconds: number
}

/** What to do with a request: continue from `token` (none: a fresh session), or answer `rejection`. */
export type RequestToken =
  | { readonly token: string | undefined; readonly rejection?: undefined }
  | { readonly token?: undefined; readonly rejection: TokenRejection }

/**
 * The answer to a malformed token in the header, the same in every integration: it
 * asked for a guarantee it cannot have, so it is refused rather than read stale.
 * The text never echoes the value back.
 */
export interface TokenRejection {
  readonly status: 400
  readonly contentType: 'text/plain; charset=utf-8'
  readonly body: string
}

/** Fills in the defaults of {@link TokenTransportOptions}. */
export function tokenTransport(options: TokenTransportOptions = {}): TokenTransport {
  return Object.freeze({
    header: (options.header ?? 'x-causeway-token').toLowerCase(),
    cookie: options.cookie === undefined ? 'causeway_token' : options.cookie,
    cookieMaxAgeSeconds: options.cookieMaxAgeSeconds ?? 60,
  })
}

/**
 * Reads a request's token by the one policy every integration shares: the header
 * first, else the cookie. A malformed header is rejected; a malformed cookie, which
 * is ambient state maybe left by an older version, is ignored.
 *
 * `header(name)` returns a request header: Node's `req.headers[name]` and
 * `Headers#get(name)` both fit.
 *
 * @example
 * const { token, rejection } = readRequestToken(cluster, (name) => request.headers.get(name), tokenTransport())
 */
export function readRequestToken(
  cluster: Pick<SessionCluster, 'isValidToken'>,
  header: (name: string) => string | readonly string[] | null | undefined,
  transport: TokenTransport,
): RequestToken {
  const fromHeader = nonEmpty(header(transport.header))
  if (fromHeader !== undefined) {
    if (cluster.isValidToken(fromHeader)) return { token: fromHeader }
    return {
      rejection: {
        status: 400,
        contentType: 'text/plain; charset=utf-8',
        body: `invalid consistency token in the ${transport.header} header\n`,
      },
    }
  }
  const fromCookie = transport.cookie ? cookieValue(header('cookie'), transport.cookie) : undefined
  return { token: fromCookie !== undefined && cluster.isValidToken(fromCookie) ? fromCookie : undefined }
}

/** The `Set-Cookie` value that hands `token` back to a browser; undefined with `cookie: false`. */
export function tokenCookie(transport: TokenTransport, token: string): string | undefined {
  if (!transport.cookie) return undefined
  return `${transport.cookie}=${token}; Path=/; Max-Age=${transport.cookieMaxAgeSeconds}; HttpOnly; SameSite=Lax`
}

/**
 * A cookie-only token, as a server action sees it (`cookies().get(…)?.value`): a
 * malformed one is ignored, as a malformed cookie is everywhere.
 */
export function acceptedCookieToken(
  cluster: Pick<SessionCluster, 'isValidToken'>,
  value: string | undefined,
): string | undefined {
  return value !== undefined && value !== '' && cluster.isValidToken(value) ? value : undefined
}

function nonEmpty(value: string | readonly string[] | null | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function cookieValue(
  cookies: string | readonly string[] | null | undefined,
  name: string,
): string | undefined {
  if (typeof cookies !== 'string') return undefined
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key !== name) continue
    try {
      return decodeURIComponent(rest.join('='))
    } catch {
      return undefined
    }
  }
  return undefined
}
