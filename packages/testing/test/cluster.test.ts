import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterNode, startCluster, type TestCluster, waitFor } from '../src/index.js'
import { describeClusterContract } from './cluster-contract.js'

describeClusterContract((options) => startCluster(options))

describe('signals to a whole server', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1 })
  })
  afterAll(() => cluster.close())

  it('kill() returns only once every process of the server is gone, a busy backend too', async () => {
    const node = cluster.primary
    const idle = await connect(node)
    const busy = await connect(node)
    const busyPid = await backendPid(busy)
    // A backend deep in a query does not look for its postmaster's death: it would
    // run on, and could commit, after the postmaster alone was killed.
    const busyQuery = busy.query('select count(*) from generate_series(1, 300000000)').then(
      () => 'finished',
      () => 'failed',
    )
    await waitFor(
      async () =>
        (
          await node.query('select 1 from pg_stat_activity where pid = $1 and state = $2', [
            busyPid,
            'active',
          ])
        ).length === 1,
      { what: 'the busy query to run', timeoutMillis: 10_000 },
    )
    const pids = await serverPids(node)
    expect(pids).toContain(busyPid)
    expect(pids).toContain(await backendPid(idle))
    expect(pids.length).toBeGreaterThan(5)
    try {
      await node.kill()
      expect(pids.filter(isRunning)).toEqual([])
      expect(await busyQuery).toBe('failed')
    } finally {
      // Without the fix the busy backend would spin on for many seconds.
      for (const pid of pids.filter(isRunning)) process.kill(pid, 'SIGKILL')
      await Promise.all([idle.end(), busy.end()].map((end) => end.catch(() => {})))
    }
    // Nothing of the killed server holds its shared memory: it starts again at once.
    await node.start()
    expect(await node.isInRecovery()).toBe(false)
  })

  it('freeze() stops every process of the server, so nothing answers until thaw()', async () => {
    const node = cluster.replicas[0]!
    const client = await connect(node)
    const pids = await serverPids(node)
    await node.freeze()
    let answer: Promise<unknown> | undefined
    try {
      // A pid may be gone: the backend of an earlier short-lived query, say.
      expect(pids.filter((pid) => isRunning(pid) && processState(pid) !== 'T')).toEqual([])
      answer = client.query('select 42 as answer').then((result) => result.rows)
      // Frozen, the server cannot answer however long one waits; 500 ms stands for that.
      expect(await Promise.race([answer, sleep(500).then(() => 'no answer')])).toBe('no answer')
      const late = new pg.Client({ connectionString: node.url, connectionTimeoutMillis: 500 })
      late.on('error', () => {})
      await expect(late.connect()).rejects.toThrow(/timeout/i)
    } finally {
      await node.thaw()
    }
    expect(await answer).toEqual([{ answer: 42 }])
    expect(pids.filter((pid) => processState(pid) === 'T')).toEqual([])
    expect(await node.query('select 1 as one')).toEqual([{ one: 1 }])
    await client.end()
  })
})

describe('lifecycle', () => {
  it('runs two clusters at once, and close() leaves no server and frees every port', async () => {
    const [a, b] = await Promise.all([startCluster({ replicas: 1 }), startCluster({ replicas: 1 })])
    const ports = [...a.nodes, ...b.nodes].map((node) => node.port)
    expect(new Set(ports).size).toBe(4)
    const pids = await Promise.all([...a.nodes, ...b.nodes].map(async (node) => postmasterPid(node)))
    await Promise.all([a.close(), b.close()])
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
    for (const port of ports) expect(await canBind(port)).toBe(true)
    // A second cluster starts at once, even on the same ports.
    await using again = await startCluster({ replicas: 1, basePort: ports[0] })
    expect(again.primary.port).toBe(ports[0])
  })

  it('close() stops frozen servers too and leaves none of their processes behind', async () => {
    const cluster = await startCluster({ replicas: 1 })
    const pids = (await Promise.all(cluster.nodes.map(serverPids))).flat()
    const ports = cluster.nodes.map((node) => node.port)
    for (const node of cluster.nodes) await node.freeze()
    await cluster.close()
    expect(pids.filter(isRunning)).toEqual([])
    for (const port of ports) expect(await canBind(port)).toBe(true)
  })

  it('stops and removes the servers of a test process that died without closing', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/crash-after-start.ts', import.meta.url))],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: '--conditions=@causeway/source' },
      },
    )
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    const [pid, dir, pidList] = await waitFor(async () => output.includes('\n') && output.trim().split(' '), {
      what: 'the fixture to start its cluster',
      timeoutMillis: 30_000,
    })
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    expect(Number(pid)).toBeGreaterThan(0)
    expect(existsSync(dir!)).toBe(true)
    expect(() => process.kill(Number(pid), 0)).not.toThrow()

    // The leftover primary runs a busy backend, and its replica is frozen.
    const pids = pidList!.split(',').map(Number)
    expect(pids).toContain(Number(pid))
    try {
      await using next = await startCluster({ replicas: 0 })
      expect(existsSync(dir!)).toBe(false)
      expect(pids.filter(isRunning)).toEqual([])
      expect(await next.primary.isInRecovery()).toBe(false)
    } finally {
      for (const leftover of pids.filter(isRunning)) process.kill(leftover, 'SIGKILL')
    }
  })

  it('fails with the server’s log tail when a server will not start, and leaves nothing behind', async () => {
    const error = await startCluster({ replicas: 0, settings: { shared_buffers: 'plenty' } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.name).toBe('HarnessError')
    expect(error?.message).toMatch(/pg1 exited during start/)
    expect(error?.message).toMatch(/--- server log \(last lines\) ---[\s\S]*shared_buffers/)
    // No other cluster of this process is open here: none of its directories may remain.
    const ours = readdirSync('/dev/shm/causeway').filter((entry) =>
      entry.startsWith(`cluster-${process.pid}-`),
    )
    expect(ours).toEqual([])
  })

  it('fails with a clear error when a requested port is in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      await expect(startCluster({ replicas: 0, basePort: port })).rejects.toThrow(`port ${port} is in use`)
    } finally {
      blocker.close()
    }
  })
})

async function postmasterPid(node: ClusterNode): Promise<number> {
  const [row] = await node.query<{ pid: string }>(
    `select split_part(pg_read_file('postmaster.pid'), E'\\n', 1) as pid`,
  )
  return Number(row?.pid)
}

/**
 * Every process of a server: the postmaster, what `pg_stat_activity` lists
 * (backends, walsenders and the background processes), and the postmaster's
 * children in /proc.
 */
async function serverPids(node: ClusterNode): Promise<number[]> {
  const postmaster = await postmasterPid(node)
  const rows = await node.query<{ pid: number }>(
    'select pid from pg_stat_activity where pid <> pg_backend_pid()',
  )
  const children = procPids().filter((pid) => procStat(pid)?.[1] === String(postmaster))
  return [...new Set([postmaster, ...rows.map((row) => row.pid), ...children])]
}

async function connect(node: ClusterNode): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: node.url })
  client.on('error', () => {})
  await client.connect()
  return client
}

async function backendPid(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** Whether the process exists and is not a zombie (a zombie can no longer do anything). */
function isRunning(pid: number): boolean {
  const state = processState(pid)
  return state !== undefined && state !== 'Z' && state !== 'X'
}

function processState(pid: number): string | undefined {
  return procStat(pid)?.[0]
}

/** `/proc/<pid>/stat` from the state on: [state, ppid, …]. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

function procPids(): number[] {
  return readdirSync('/proc').flatMap((entry) => (/^\d+$/.test(entry) ? [Number(entry)] : []))
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
