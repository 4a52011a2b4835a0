import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type ClusterEvents, createCluster } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterConfig } from './support/fixture.js'

let cluster: TestCluster
beforeAll(async () => {
  cluster = await startCluster({ replicas: 2 })
})
afterAll(() => cluster.close())

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password)

describe('bad configuration', () => {
  it.each([
    [{ replicas: ['postgres://a@b/c'] }, /primary: is required/],
    [{ primary: 'http://db1/app' }, /primary: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [
      { primary: 'postgres://a@b/c', replicas: [{ connectionString: 'postgres://a@b/c', weight: -2 }] },
      /replicas\[0\]\.weight/,
    ],
    [{ primary: 'postgres://a@b/c', replicaz: [] }, /unknown key "replicaz"/],
    [{ primary: 'postgres://a@b/c', maxLag: { seconds: 1 } }, /maxLag: unknown key "seconds"/],
  ])('fails at construction, naming the field: %j', (config, message) => {
    expect(() => new CausewayDialect(config as never)).toThrow(message)
  })
})

describe('credentials', () => {
  it('never appear in errors, status() or events, even for a wrong password', async () => {
    const wrong = 'Wr0ng-Passw0rd-123'
    const url = new URL(cluster.primary.url)
    url.password = wrong
    const events: unknown[] = []
    const dialect = new CausewayDialect({
      primary: { connectionString: url.toString(), name: 'pg1' },
      replicas: cluster.replicas.map((n) => ({ connectionString: n.url, name: n.name })),
      health: { intervalMillis: 50 },
    })
    for (const event of ['node-down', 'node-suspect', 'fallback', 'read-retried'] as const) {
      dialect.cluster.on(event, (e: ClusterEvents[typeof event]) => events.push(e))
    }
    const db = new Kysely<Record<string, never>>({ dialect })
    try {
      const error = await sql`insert into nowhere values (1)`.execute(db).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(error).toBeInstanceOf(Error)
      const shown = `${error!.message}\n${error!.stack}\n${String((error as Error & { cause?: unknown }).cause)}`
      expect(shown).toMatch(/password authentication failed/)
      expect(shown).not.toContain(wrong)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const status = JSON.stringify(dialect.cluster.status())
      expect(status).toMatch(/password authentication failed/)
      expect(events.length).toBeGreaterThan(0)
      for (const text of [status, JSON.stringify(events)]) {
        expect(text).not.toContain(wrong)
        for (const node of cluster.nodes) expect(text).not.toContain(passwordOf(node.url))
      }
    } finally {
      await db.destroy()
    }
  })
})

describe('replicas: []', () => {
  it("is valid: everything runs on the primary, counted as the 'no-replica' fallback", async () => {
    const core = createCluster({ primary: cluster.primary.url })
    try {
      const { rows } = await core.query<{ port: number }>('select inet_server_port() as port')
      expect(rows[0]?.port).toBe(cluster.primary.port)
      expect(core.status().fallbacks['no-replica']).toBe(1)
    } finally {
      await core.close()
    }
  })
})

describe('cleanup', () => {
  it('db.destroy() closes every pool and timer: the process exits on its own', async () => {
    const { code, output } = await runUntilExit('exit-after-destroy.ts')
    expect(output).toContain('destroyed')
    expect(code).toBe(0)
  })

  it('exits promptly after transactions, a savepoint, a stream, an abort, a Migrator and a session (issue 15)', async () => {
    // The script sets query_timeout (30 s): a stream's cursor used to leave pg's
    // query_timeout timer behind, which held the process after db.destroy().
    const { code, output, afterDestroyMillis } = await runUntilExit('exit-after-full-use.ts')
    expect(output).toContain('destroyed')
    expect(afterDestroyMillis).toBeLessThan(3_000)
    expect(code).toBe(0)
  })

  it('close() twice is safe, and a closed cluster refuses work with a clear error', async () => {
    const core = createCluster(clusterConfig(cluster))
    await core.query('select 1')
    await core.close()
    await core.close()
    await expect(core.query('select 1')).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

/**
 * Runs a script of test/fixtures in a process of its own, with the cluster's URLs in
 * CLUSTER_URLS, until it exits (or 20 s, then kills it). `afterDestroyMillis`: from
 * its "destroyed" line to its exit, as seen from here.
 */
async function runUntilExit(
  script: string,
): Promise<{ code: number | null; output: string; afterDestroyMillis: number | undefined }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url))],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: '--conditions=@causeway/source',
        CLUSTER_URLS: cluster.nodes.map((n) => n.url).join(','),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  let destroyedAt: number | undefined
  child.stdout.on('data', (chunk) => {
    output += chunk
    if (destroyedAt === undefined && output.includes('destroyed')) destroyedAt = Date.now()
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(null)
    }, 20_000)
    // 'close', not 'exit': by then every line it wrote has been read.
    child.once('close', (exit) => {
      clearTimeout(timer)
      resolve(exit)
    })
  })
  return {
    code,
    output,
    afterDestroyMillis: destroyedAt === undefined ? undefined : Date.now() - destroyedAt,
  }
}
