import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `causeway` as a user runs it: a process of its own, against a real cluster.
const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url))

let cluster: TestCluster
let password: string
let primaryName: string
let replicaNames: string[]

beforeAll(async () => {
  cluster = await startCluster()
  password = decodeURIComponent(new URL(cluster.primary.url).password)
  // The CLI names nodes as core does for a URL without a name: host:port.
  primaryName = `127.0.0.1:${cluster.primary.port}`
  replicaNames = cluster.replicas.map((node) => `127.0.0.1:${node.port}`)
})

afterAll(async () => {
  await cluster?.close()
})

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the CLI to its exit (or 30 s, then kills it). `env` is all the CLI sees of
 * CAUSEWAY_* variables: the test runner's own are dropped. `whileRunning` gets the
 * child and its output so far, for `watch`.
 */
function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  whileRunning?: (child: ReturnType<typeof spawn>, stdout: () => string) => void,
): Promise<Run> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CAUSEWAY_')),
  )
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    env: { ...inherited, NODE_OPTIONS: '--conditions=@causeway/source', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  whileRunning?.(child, () => stdout)
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    // 'close', not 'exit': by then every line it wrote has been read.
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

function replicaArgs(): string[] {
  return cluster.replicas.flatMap((node) => ['--replica', node.url])
}

function expectNoPassword(run: Run, secret = password): void {
  expect(run.stdout).not.toContain(secret)
  expect(run.stderr).not.toContain(secret)
}

describe('causeway status', () => {
  it('prints a row per node: role, state, timeline, LSN, upstream and lag', async () => {
    const run = await runCli(['status', cluster.primary.url, ...replicaArgs()])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(
      new RegExp(`^Primary ${primaryName}, timeline 1, epoch \\d+ \\(failover: follow\\)$`),
    )
    expect(lines[1]).toMatch(/^NODE\s+ROLE\s+STATE\s+TL\s+LSN\s+UPSTREAM\s+LAG BYTES\s+LAG MS\s+NOTE$/)
    const rows = lines.slice(2).map((line) => line.split(/\s+/))
    expect(rows.map((row) => row.slice(0, 4))).toEqual([
      [primaryName, 'primary', 'healthy', '1'],
      ...replicaNames.map((name) => [name, 'replica', 'healthy', '1']),
    ])
    for (const row of rows) expect(row[4]).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    // Each replica streams from the primary, named as the CLI names it; its lag is a number.
    for (const row of rows.slice(1)) {
      expect(row[5]).toBe(primaryName)
      expect(row[6]).toMatch(/^\d+$/)
    }
    expectNoPassword(run)
  })

  it('--json prints the status object', async () => {
    const run = await runCli(['status', cluster.primary.url, ...replicaArgs(), '--json'])
    expect(run.code).toBe(0)
    const status = JSON.parse(run.stdout)
    expect(status).toMatchObject({ primary: primaryName, timeline: 1, failover: 'follow' })
    expect(status.systemId).toMatch(/^\d+$/)
    expect(
      status.nodes.map((n: { name: string; role: string; state: string }) => [n.name, n.role, n.state]),
    ).toEqual([
      [primaryName, 'primary', 'healthy'],
      ...replicaNames.map((name) => [name, 'replica', 'healthy']),
    ])
    // Every node has every key: a primary's lag is null, not missing.
    expect(status.nodes[0].lagBytes).toBeNull()
    expect(typeof status.nodes[1].lagBytes).toBe('number')
    expectNoPassword(run)
  })

  it('takes the URLs from CAUSEWAY_PRIMARY_URL and CAUSEWAY_REPLICA_URLS', async () => {
    const run = await runCli(['status', '--json'], {
      CAUSEWAY_PRIMARY_URL: cluster.primary.url,
      CAUSEWAY_REPLICA_URLS: cluster.replicas.map((node) => node.url).join(','),
    })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).nodes).toHaveLength(cluster.nodes.length)
    expectNoPassword(run)
  })

  it('exits 1 when the primary is unreachable, naming it without its password', async () => {
    const secret = 'unreachable-s3cret'
    const run = await runCli(['status', `postgres://postgres:${secret}@127.0.0.1:1/postgres`])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('causeway: primary 127.0.0.1:1 is unreachable')
    expectNoPassword(run, secret)
  })

  it('exits 1 when the primary refuses the password, and prints neither password', async () => {
    const wrong = 'wrong-password-4242'
    const run = await runCli([
      'status',
      `postgres://postgres:${wrong}@127.0.0.1:${cluster.primary.port}/postgres`,
      ...replicaArgs(),
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('password authentication failed')
    expectNoPassword(run, wrong)
    expectNoPassword(run)
  })
})

describe('causeway route', () => {
  async function route(sql: string, urls: string[] = []) {
    const run = await runCli(['route', sql, ...urls, '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expectNoPassword(run)
    return JSON.parse(run.stdout)
  }
  const urls = () => [cluster.primary.url, ...replicaArgs()]

  it('a select goes to the healthy replicas', async () => {
    expect(await route('select * from pg_class', urls())).toMatchObject({
      intent: 'read',
      reason: 'plain read',
      target: 'replica',
      nodes: replicaNames,
      fallback: null,
    })
  })

  it('an insert goes to the primary', async () => {
    expect(await route('insert into t values (1)', urls())).toMatchObject({
      intent: 'write',
      reason: 'INSERT',
      target: 'primary',
      nodes: [primaryName],
    })
  })

  it('a select calling a function that writes goes to the primary, saying which function', async () => {
    expect(await route("select nextval('s')", urls())).toMatchObject({
      intent: 'write',
      reason: 'function nextval()',
      target: 'primary',
      nodes: [primaryName],
    })
  })

  it('a select calling a merely volatile function is still a read', async () => {
    expect(await route('select random()', urls())).toMatchObject({ intent: 'read', target: 'replica' })
  })

  it('with no replica, a read falls back to the primary', async () => {
    expect(await route('select 1', [cluster.primary.url])).toMatchObject({
      target: 'primary',
      nodes: [primaryName],
      fallback: 'no-replica',
    })
  })

  it('without URLs it answers from the classifier alone, as text', async () => {
    const run = await runCli(['route', 'select 1 for update'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^intent\s+write\nreason\s+FOR UPDATE\ntarget\s+primary\n/)
  })
})

describe('causeway watch', () => {
  it('redraws the view with lag over time until SIGTERM, then closes the cluster and exits 0', async () => {
    const frameMarker = /causeway watch · /g
    const run = await runCli(
      ['watch', cluster.primary.url, ...replicaArgs(), '--interval', '200'],
      {},
      (child, stdout) => {
        const poll = setInterval(() => {
          if ((stdout().match(frameMarker) ?? []).length >= 2) {
            clearInterval(poll)
            child.kill('SIGTERM')
          }
        }, 50)
        child.once('close', () => clearInterval(poll))
      },
    )
    // Exit 0 on its own after SIGTERM: it closed every pool, or the process would not end.
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const frames = run.stdout.split(frameMarker).slice(1)
    expect(frames.length).toBeGreaterThanOrEqual(2)
    for (const frame of frames) {
      expect(frame).toContain('LAG BYTES, LAST 60')
      for (const name of replicaNames) expect(frame).toMatch(new RegExp(`${name} .*[▁▂▃▄▅▆▇█]`))
    }
    // Not a terminal: plain frames, no cursor moves.
    expect(run.stdout).not.toContain('\u001b[')
    expectNoPassword(run)
  })

  it('exits 1 when the primary is unreachable at start', async () => {
    const run = await runCli(['watch', `postgres://postgres:${password}@127.0.0.1:1/postgres`])
    expect(run.code).toBe(1)
    expectNoPassword(run)
  })
})

describe('causeway mirror-check', () => {
  // An independent server as the mirror, logged into as a role of its own, so that
  // its password differs from the cluster's.
  let mirror: TestCluster
  let mirrorName: string
  const mirrorPassword = 'mirror-s3cret-7781'
  const mirrorUrl = () => `postgres://cli_mirror:${mirrorPassword}@127.0.0.1:${mirror.primary.port}/postgres`

  /** Runs the same statements on the primary and on the mirror. */
  async function onBoth(...statements: string[]): Promise<void> {
    for (const sql of statements) {
      await cluster.primary.query(sql)
      await mirror.primary.query(sql)
    }
  }

  beforeAll(async () => {
    mirror = await startCluster({ replicas: 0, fromEnv: false })
    mirrorName = `127.0.0.1:${mirror.primary.port}`
    await mirror.primary.query(`create role cli_mirror login superuser password '${mirrorPassword}'`)
    await onBoth(
      'create table cli_users (id int primary key, name text)',
      "insert into cli_users values (1, 'ada'), (2, 'grace'), (3, 'barbara')",
      'create table cli_orders (id int primary key, total numeric)',
      'insert into cli_orders values (1, 9.50), (2, 12.00)',
    )
  })

  afterAll(async () => {
    await cluster?.primary.query('drop table if exists cli_users, cli_orders')
    await mirror?.close()
  })

  function mirrorCheck(...extra: string[]): Promise<Run> {
    return runCli(['mirror-check', cluster.primary.url, ...replicaArgs(), '--mirror', mirrorUrl(), ...extra])
  }

  /** The table rows of the text output, split into cells: TABLE, PRIMARY ROWS, MIRROR ROWS, EQUAL, NOTE. */
  function rowsOf(run: Run): string[][] {
    return run.stdout
      .trimEnd()
      .split('\n')
      .slice(1, -1)
      .map((line) => line.split(/\s{2,}/))
  }

  function expectNoSecret(run: Run): void {
    expectNoPassword(run)
    expectNoPassword(run, mirrorPassword)
  }

  it('equal tables: exit 0, a row per table and a summary line', async () => {
    const run = await mirrorCheck('--tables', 'cli_users,cli_orders')
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^TABLE\s+PRIMARY ROWS\s+MIRROR ROWS\s+EQUAL\s+NOTE$/)
    expect(rowsOf(run)).toEqual([
      ['cli_users', '3', '3', 'yes'],
      ['cli_orders', '2', '2', 'yes'],
    ])
    expect(lines.at(-1)).toBe(
      `Mirror ${mirrorName} matches primary ${primaryName}: 2 tables, every one equal`,
    )
    expectNoSecret(run)
  })

  it('a row changed only on the mirror: exit 3, the table marked not equal', async () => {
    await onBoth(
      'create table cli_drift (id int primary key, v text)',
      "insert into cli_drift values (1, 'a')",
    )
    try {
      await mirror.primary.query("update cli_drift set v = 'b' where id = 1")
      const run = await mirrorCheck('--tables', 'cli_users,cli_drift')
      expect(run.stderr).toBe('')
      expect(run.code).toBe(3)
      expect(rowsOf(run)).toEqual([
        ['cli_users', '3', '3', 'yes'],
        ['cli_drift', '1', '1', 'no', 'same row count, other contents'],
      ])
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
        `Mirror ${mirrorName} differs from primary ${primaryName}: 1 of 2 tables not equal (cli_drift)`,
      )
      expectNoSecret(run)
    } finally {
      await onBoth('drop table cli_drift')
    }
  })

  it('without --tables, every table of the primary: one missing on the mirror is not equal', async () => {
    await cluster.primary.query('create table cli_primary_only (id int)')
    try {
      const run = await mirrorCheck()
      expect(run.code).toBe(3)
      const rows = rowsOf(run)
      expect(rows).toContainEqual(['cli_users', '3', '3', 'yes'])
      expect(rows).toContainEqual(['cli_orders', '2', '2', 'yes'])
      // Named as the primary's server names it (visible on the search_path: unqualified).
      expect(rows).toContainEqual(['cli_primary_only', '0', '-', 'no', 'no table public.cli_primary_only'])
      expectNoSecret(run)
    } finally {
      await cluster.primary.query('drop table cli_primary_only')
    }
  })

  it('--json prints the comparison, every table with every key', async () => {
    const run = await mirrorCheck('--tables', 'cli_users,cli_orders', '--json')
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({ primary: primaryName, mirror: mirrorName, equal: true })
    expect(report.tables).toEqual([
      {
        table: 'cli_users',
        primaryRows: 3,
        mirrorRows: 3,
        primaryMd5: expect.stringMatching(/^[0-9a-f]{32}$/),
        mirrorMd5: expect.stringMatching(/^[0-9a-f]{32}$/),
        equal: true,
        error: null,
      },
      {
        table: 'cli_orders',
        primaryRows: 2,
        mirrorRows: 2,
        primaryMd5: expect.stringMatching(/^[0-9a-f]{32}$/),
        mirrorMd5: expect.stringMatching(/^[0-9a-f]{32}$/),
        equal: true,
        error: null,
      },
    ])
    for (const table of report.tables) expect(table.mirrorMd5).toBe(table.primaryMd5)
    expectNoSecret(run)
  })

  it("never prints the mirror's password: not as --mirror=<url>, not when the mirror refuses it", async () => {
    const equalsForm = await runCli([
      'mirror-check',
      cluster.primary.url,
      `--mirror=${mirrorUrl()}`,
      '--tables',
      'cli_users',
    ])
    expect(equalsForm.code).toBe(0)
    expect(equalsForm.stdout).toContain(`Mirror ${mirrorName} matches`)
    expectNoSecret(equalsForm)

    const wrong = 'wrong-mirror-pw-99'
    const refused = await runCli([
      'mirror-check',
      cluster.primary.url,
      '--mirror',
      `postgres://cli_mirror:${wrong}@127.0.0.1:${mirror.primary.port}/postgres`,
    ])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`causeway: mirror ${mirrorName} is unreachable`)
    expect(refused.stderr).toContain('password authentication failed')
    expectNoPassword(refused, wrong)
    expectNoSecret(refused)
  })

  it('exits 1 when the mirror is unreachable, naming it by host:port', async () => {
    const run = await runCli([
      'mirror-check',
      cluster.primary.url,
      '--mirror',
      `postgres://cli_mirror:${mirrorPassword}@127.0.0.1:1/postgres`,
    ])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('causeway: mirror 127.0.0.1:1 is unreachable')
    expectNoSecret(run)
  })

  it('a missing or malformed --mirror is a usage error naming the flag', async () => {
    const missing = await runCli(['mirror-check', cluster.primary.url, '--tables', 'cli_users'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('mirror-check needs --mirror <postgres-url>')
    expect(missing.stderr).toContain("Run 'causeway --help'")
    expectNoSecret(missing)

    const malformed = await runCli([
      'mirror-check',
      cluster.primary.url,
      '--mirror',
      `mysql://cli_mirror:${mirrorPassword}@127.0.0.1:${mirror.primary.port}/db`,
    ])
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toContain('--mirror must be a postgres:// URL')
    expectNoSecret(malformed)
  })
})

describe('usage errors', () => {
  it('an unknown flag exits 2 with the usage hint', async () => {
    const run = await runCli(['status', cluster.primary.url, '--frobnicate'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("unknown option '--frobnicate'")
    expect(run.stderr).toContain("Run 'causeway --help'")
    expectNoPassword(run)
  })

  it('a URL given where the command goes is echoed without its password', async () => {
    const run = await runCli([cluster.primary.url])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('unknown command')
    expectNoPassword(run)
  })

  it('--help exits 0 and documents the exit codes', async () => {
    const run = await runCli(['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(
      'Exit codes: 0 done, 1 primary (or mirror) unreachable or another failure, 2 usage error,\n' +
        '3 mirror-check found a table that differs.',
    )
  })
})
