import { createServer } from 'node:net'

/**
 * A free loopback port in `[from, to)`, with `port + 1` free too (pgpool's PCP
 * socket is named by it). The range sits below the one `@causeway/testing` claims
 * (15400 and up) and outside the ephemeral range, so outgoing connections never
 * take it meanwhile.
 */
export async function freePortPair(from = 14_000, to = 15_398): Promise<number> {
  const start = from + Math.floor(Math.random() * (to - from))
  for (let i = 0; i < to - from; i += 2) {
    const port = from + ((start - from + i) % (to - from))
    if ((await isFree(port)) && (await isFree(port + 1))) return port
  }
  throw new Error(`no free loopback port pair in ${from}–${to}`)
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
