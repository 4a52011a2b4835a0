import { AsyncLocalStorage } from 'node:async_hooks'
import { createServer } from 'node:http'
import type { Cluster } from '@causeway/core'
import { type CookieJar, cookieTokens, withCausewayAction } from '@causeway/web/next'
import { listening, type NotesApp, notes } from './notes-app.js'

/**
 * Next.js server actions, as Next runs them: a function called once per request,
 * whose only request and response state is `cookies()`, found through an
 * `AsyncLocalStorage` the server enters per request. This server does the same:
 * `POST /actions/createNote` and `POST /actions/hasNote` call the actions with the
 * JSON body's arguments, and send the cookies they set as `Set-Cookie`.
 */
export async function startNextActions(db: Cluster, integrated: boolean): Promise<NotesApp> {
  const requestCookies = new AsyncLocalStorage<CookieJar>()
  // next/headers' cookies(), for this server.
  const cookies = async () => requestCookies.getStore()!
  const action = <Args extends unknown[], R>(fn: (...args: Args) => Promise<R>) =>
    integrated ? withCausewayAction(db, cookieTokens(cookies), fn) : fn
  const actions: Record<string, (...args: never[]) => Promise<unknown>> = {
    createNote: action((body: string) => notes.insert(db, { body })),
    hasNote: action((id: number) => notes.found(db, String(id))),
  }
  return listening(
    createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const args = JSON.parse(Buffer.concat(chunks).toString()) as never[]
      const sent: string[] = []
      const jar: CookieJar = {
        get: (name) => {
          const pair = (req.headers.cookie ?? '').split('; ').find((part) => part.startsWith(`${name}=`))
          return pair === undefined ? undefined : { value: pair.slice(name.length + 1) }
        },
        set: (name, value, options) => {
          sent.push(
            `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAge}; HttpOnly; SameSite=Lax`,
          )
        },
      }
      const result = await requestCookies.run(jar, () => actions[req.url!.split('/')[2]!]!(...args))
      if (sent.length > 0) res.setHeader('set-cookie', sent)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(result))
    }),
  )
}
