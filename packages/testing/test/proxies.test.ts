import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Availability,
  backendOf,
  haproxyAvailable,
  pgbouncerAvailable,
  type RunningProxy,
  startCluster,
  startHaproxy,
  startPgbouncer,
  type TestCluster,
  waitFor,
} from '../src/index.js'
import { isAlive } from '../src/processes.js'

const haproxy = haproxyAvailable()
const pgbouncer = pgbouncerAvailable()

/** A describe title that says why its tests are skipped, and the same on the console. */
function titled(title: string, availability: Availability): string {
  if (availability.ok) return title
  console.warn(`skipping "${title}": ${availability.reason}`)
  return `${title} (skipped: ${availability.reason})`
}

let cluster: TestCluster
beforeAll(async () => {
  if (!haproxy.ok && !pgbouncer.ok) return
  cluster = await startCluster({ replicas: 2 })
})
afterAll(() => cluster?.close())

/** Opens a client on `url`, runs `fn`, and closes the client. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  client.on('error', () => {})
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

const serverPort = async (client: pg.Client) =>
  (await client.query<{ port: number }>('select inet_server_port() as port')).rows[0]!.port

const backendPid = async (client: pg.Client) =>
  (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid

/** Checks what close() promises: the process is gone, the directory removed, the port free. */
async function expectClosedCleanly(proxy: RunningProxy) {
  const { pid, dir, port } = proxy
  expect(isAlive(pid)).toBe(true)
  await proxy.close()
  expect(isAlive(pid)).toBe(false)
  expect(existsSync(dir)).toBe(false)
  expect(await canBind(port)).toBe(true)
  await proxy.close() // a second close is harmless
}

describe.skipIf(!haproxy.ok)(titled('startHaproxy', haproxy), () => {
  it('spreads new connections round-robin over its backends', async () => {
    const [a, b] = cluster.replicas
    await using balancer = await startHaproxy({
      backends: [a!, b!].map((node) => backendOf(node.url)),
    })
    const url = balancer.urlFor(a!.url)
    expect(new URL(url).port).toBe(String(balancer.port))
    const ports: number[] = []
    for (let i = 0; i < 4; i++) ports.push(await withClient(url, serverPort))
    // HAProxy picks where the rotation starts; from there it alternates.
    expect(new Set(ports)).toEqual(new Set([a!.port, b!.port]))
    expect(ports).toEqual([ports[0], ports[1], ports[0], ports[1]])
  })

  it('close() ends open connections and leaves no process, directory or port behind', async () => {
    const balancer = await startHaproxy({ backends: [backendOf(cluster.primary.url)] })
    const client = new pg.Client({ connectionString: balancer.urlFor(cluster.primary.url) })
    const ended = new Promise<void>((resolve) => client.once('end', resolve))
    client.on('error', () => {})
    await client.connect()
    expect(await serverPort(client)).toBe(cluster.primary.port)
    await expectClosedCleanly(balancer)
    await ended
  })

  it('is killed by the next start when the test process that started it died', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/crash-after-proxy.ts', import.meta.url))],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: '--conditions=@causeway/source' },
      },
    )
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    const [pid, dir] = await waitFor(async () => output.includes('\n') && output.trim().split(' '), {
      what: 'the fixture to start HAProxy',
      timeoutMillis: 30_000,
    })
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    try {
      expect(isAlive(Number(pid))).toBe(true)
      await using next = await startHaproxy({ backends: [{ host: '127.0.0.1', port: 1 }] })
      expect(isAlive(Number(pid))).toBe(false)
      expect(existsSync(dir!)).toBe(false)
      expect(next.pid).not.toBe(Number(pid))
    } finally {
      if (isAlive(Number(pid))) process.kill(Number(pid), 'SIGKILL')
    }
  })

  it('fails with HAProxy’s own message when its configuration is refused, and leaves nothing', async () => {
    const error = await startHaproxy({ backends: [{ host: 'no host here', port: 5 }] }).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.name).toBe('HarnessError')
    expect(error?.message).toMatch(/haproxy exited during start/)
    expect(error?.message).toMatch(/--- server log \(last lines\) ---/)
  })
})

describe.skipIf(!pgbouncer.ok)(titled('startPgbouncer', pgbouncer), () => {
  const login = () => {
    const { username, password } = new URL(cluster.primary.url)
    return { user: decodeURIComponent(username), password: decodeURIComponent(password) }
  }

  it('in transaction mode, hands one server connection to two clients in turn', async () => {
    await using bouncer = await startPgbouncer({
      backend: backendOf(cluster.primary.url),
      poolMode: 'transaction',
      ...login(),
    })
    const url = bouncer.urlFor(cluster.primary.url)
    await withClient(url, async (first) => {
      await withClient(url, async (second) => {
        expect(await serverPort(first)).toBe(cluster.primary.port)
        // Both are connected, but between transactions neither holds a server connection.
        expect(await backendPid(second)).toBe(await backendPid(first))
      })
    })
  })

  it('in session mode, gives each connected client a server connection of its own', async () => {
    await using bouncer = await startPgbouncer({
      backend: backendOf(cluster.replicas[0]!.url),
      poolMode: 'session',
      ...login(),
    })
    const url = bouncer.urlFor(cluster.replicas[0]!.url)
    await withClient(url, async (first) => {
      await withClient(url, async (second) => {
        expect(await serverPort(first)).toBe(cluster.replicas[0]!.port)
        expect(await backendPid(second)).not.toBe(await backendPid(first))
      })
    })
  })

  it('refuses a wrong password', async () => {
    await using bouncer = await startPgbouncer({
      backend: backendOf(cluster.primary.url),
      poolMode: 'transaction',
      ...login(),
    })
    const url = new URL(bouncer.urlFor(cluster.primary.url))
    url.password = 'wrong'
    await expect(withClient(url.toString(), serverPort)).rejects.toThrow(/authentication failed/)
  })

  it('does not run as root, and close() leaves no process, directory or port behind', async () => {
    const bouncer = await startPgbouncer({
      backend: backendOf(cluster.primary.url),
      poolMode: 'transaction',
      ...login(),
    })
    expect(await withClient(bouncer.urlFor(cluster.primary.url), serverPort)).toBe(cluster.primary.port)
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${bouncer.pid}/status`, 'utf8'))?.[1]
    expect(uid).toBeDefined()
    expect(Number(uid)).not.toBe(0)
    await expectClosedCleanly(bouncer)
  })
})

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}
