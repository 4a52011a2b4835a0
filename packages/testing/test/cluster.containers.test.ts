import { spawn } from 'node:child_process'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { getContainerRuntimeClient } from 'testcontainers'
import { describe, expect, it } from 'vitest'
import { type Availability, containersAvailable, startCluster, waitFor } from '../src/index.js'
import { describeClusterContract } from './cluster-contract.js'

const here = containersAvailable()

function titled(title: string, availability: Availability): string {
  if (availability.ok) return title
  console.warn(`skipping "${title}": ${availability.reason}`)
  return `${title} (skipped: ${availability.reason})`
}

const LABEL = 'dev.causeway.testing'
const OWNER_LABEL = 'dev.causeway.testing.owner'

/** The containers and networks of the harness that a process of this host owns. */
async function ownedBy(pid: number) {
  const docker = (await getContainerRuntimeClient()).container.dockerode
  const filters = JSON.stringify({ label: [`${OWNER_LABEL}`] })
  const mine = (labels: Record<string, string> | undefined) =>
    labels?.[LABEL] !== undefined && (labels[OWNER_LABEL] ?? '').startsWith(`${hostname()}/${pid}/`)
  const containers = (await docker.listContainers({ all: true, filters })).filter((c) => mine(c.Labels))
  const networks = (await docker.listNetworks({ filters })).filter((n) => mine(n.Labels))
  return { containers, networks }
}

describe.skipIf(!here.ok)(titled('the container engine', here), () => {
  describeClusterContract((options) => startCluster({ ...options, engine: 'containers' }))

  describe('container controls', () => {
    it('freeze() pauses the container: nothing answers until thaw(), then the waiting query does', async () => {
      await using cluster = await startCluster({ engine: 'containers', replicas: 0 })
      const node = cluster.primary
      const client = new pg.Client({ connectionString: node.url })
      client.on('error', () => {})
      await client.connect()
      let answer: Promise<unknown> | undefined
      await node.freeze()
      try {
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
      await client.end()
    })

    it('kill() leaves the container exited at once, and start() brings the same data back', async () => {
      await using cluster = await startCluster({ engine: 'containers', replicas: 0 })
      const node = cluster.primary
      await node.query('create table k (id int); insert into k values (1)')
      await node.kill()
      await expect(node.query('select 1')).rejects.toThrow()
      await node.start()
      expect(await node.query('select count(*)::int as n from k')).toEqual([{ n: 1 }])
    })
  })

  describe('cleanup', () => {
    it('close() leaves no container, volume or network, a frozen node too', async () => {
      const cluster = await startCluster({ engine: 'containers', replicas: 1 })
      const docker = (await getContainerRuntimeClient()).container.dockerode
      const before = await ownedBy(process.pid)
      expect(before.containers).toHaveLength(2)
      expect(before.networks).toHaveLength(1)
      const volumes = before.containers.flatMap((c) =>
        c.Mounts.flatMap((mount) => (mount.Type === 'volume' && mount.Name ? [mount.Name] : [])),
      )
      await cluster.replicas[0]!.freeze()
      await cluster.close()
      const after = await ownedBy(process.pid)
      expect(after.containers).toEqual([])
      expect(after.networks).toEqual([])
      const left = ((await docker.listVolumes()).Volumes ?? []).filter((v) => volumes.includes(v.Name))
      expect(left).toEqual([])
      await cluster.close()
    })

    it('the next start removes the containers and network of a test process that died without closing', async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(new URL('./fixtures/crash-after-containers.ts', import.meta.url))],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, NODE_OPTIONS: '--conditions=@causeway/source' },
        },
      )
      let output = ''
      child.stdout.on('data', (chunk) => {
        output += chunk
      })
      const pid = Number(
        await waitFor(async () => output.includes('\n') && output.trim(), {
          what: 'the fixture to start its cluster',
          timeoutMillis: 60_000,
        }),
      )
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
      const leftover = await ownedBy(pid)
      expect(leftover.containers).toHaveLength(2)
      expect(leftover.networks).toHaveLength(1)

      await using next = await startCluster({ engine: 'containers', replicas: 0 })
      const after = await ownedBy(pid)
      expect(after.containers).toEqual([])
      expect(after.networks).toEqual([])
      expect(await next.primary.isInRecovery()).toBe(false)
    })
  })
})

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
