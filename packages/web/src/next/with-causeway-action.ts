import {
  acceptedCookieToken,
  type SessionCluster,
  type TokenTransportOptions,
  tokenTransport,
} from '@causeway/core'

/**
 * Where a server action finds the client's token and leaves the newest one. A
 * server action has no request or response object of its own; in Next.js both
 * ends are the `cookies()` store (see {@link cookieTokens}). What `get` returns is
 * treated as a cookie: a malformed value is ignored, as a malformed cookie is
 * everywhere.
 */
export interface TokenStore {
  get(): string | undefined | Promise<string | undefined>
  set(token: string): unknown
}

/** The part of Next's cookie store (`await cookies()`) that {@link cookieTokens} uses. */
export interface CookieJar {
  get(name: string): { readonly value: string } | undefined
  set(
    name: string,
    value: string,
    options: { path: string; maxAge: number; httpOnly: boolean; sameSite: 'lax' },
  ): unknown
}

/**
 * A {@link TokenStore} over Next's `cookies()`, with the cookie name and lifetime
 * every other integration uses (`causeway_token`, 60 s). It takes `cookies` as an
 * argument so that this package never imports `next`.
 *
 * @example
 * import { cookies } from 'next/headers'
 * const tokens = cookieTokens(cookies)
 */
export function cookieTokens(
  cookies: () => CookieJar | Promise<CookieJar>,
  options: Pick<TokenTransportOptions, 'cookie' | 'cookieMaxAgeSeconds'> = {},
): TokenStore {
  const { cookie, cookieMaxAgeSeconds } = tokenTransport(options)
  if (!cookie) throw new TypeError('cookieTokens needs a cookie name')
  return {
    get: async () => (await cookies()).get(cookie)?.value,
    set: async (token) =>
      (await cookies()).set(cookie, token, {
        path: '/',
        maxAge: cookieMaxAgeSeconds,
        httpOnly: true,
        sameSite: 'lax',
      }),
  }
}

/**
 * Wraps a server action (or any function called once per request) so that it runs
 * in a read-your-writes session continuing from the token in `tokens`, and leaves
 * the newest token there when it returns or throws. The next action or route
 * handler the browser calls sends it back through the cookie.
 *
 * @example
 * // app/actions.ts
 * 'use server'
 * import { cookies } from 'next/headers'
 * import { cookieTokens, withCausewayAction } from '@causeway/web/next'
 * export const createPost = withCausewayAction(dialect.cluster, cookieTokens(cookies), async (form: FormData) => {
 *   await db.insertInto('posts').values({ title: String(form.get('title')) }).execute()
 * })
 */
export function withCausewayAction<Args extends unknown[], R>(
  cluster: SessionCluster,
  tokens: TokenStore,
  action: (...args: Args) => R | Promise<R>,
): (...args: Args) => Promise<R> {
  return async (...args) => {
    const token = acceptedCookieToken(cluster, await tokens.get())
    return cluster.session(
      async () => {
        try {
          return await action(...args)
        } finally {
          const newest = await cluster.token().catch(() => undefined)
          if (newest) await tokens.set(newest)
        }
      },
      token === undefined ? {} : { token },
    )
  }
}
