import net from 'node:net'

/** What a {@link startDelayProxy} rule sees of one client connection. */
export interface ProxiedConnection {
  /** Free for the rule to mark the connection by what it sent before. */
  marked: boolean
}

/** What a {@link startDelayProxy} rule returns to cut the connection at the server's answer. */
export const CUT = -1

/** A running {@link startDelayProxy}. */
export interface DelayProxy extends AsyncDisposable {
  /** `url` with its host and port replaced by the proxy's. */
  readonly url: string
  close(): Promise<void>
}

/**
 * A TCP proxy in front of the server of `url` that can hold back a server's
 * answer on one connection: `rule` sees every chunk the client sends and returns
 * how many milliseconds to delay the server's next chunk on that connection (0:
 * none), or `CUT`: the chunk reaches the server, and the connection is cut when
 * the server answers, its answer dropped (a network lost right after a COMMIT was
 * sent). Later chunks keep their order behind a delayed one. For races that need
 * one reply late or lost (no `tc netem` on these machines).
 */
export async function startDelayProxy(
  url: string,
  rule: (sent: Buffer, connection: ProxiedConnection) => number,
): Promise<DelayProxy> {
  const target = new URL(url)
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname)
    sockets.add(client).add(upstream)
    const connection: ProxiedConnection = { marked: false }
    let delayNext = 0
    let toClient = Promise.resolve()
    client.on('data', (chunk) => {
      const delay = rule(chunk, connection)
      if (delay > 0 || delay === CUT) delayNext = delay
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      const delay = delayNext
      delayNext = 0
      if (delay === CUT) {
        end()
        return
      }
      toClient = toClient
        .then(() => (delay > 0 ? new Promise<void>((resolve) => setTimeout(resolve, delay)) : undefined))
        .then(() => {
          if (!client.destroyed) client.write(chunk)
        })
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String((server.address() as net.AddressInfo).port)
  const close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { url: proxied.toString(), close, [Symbol.asyncDispose]: close }
}
