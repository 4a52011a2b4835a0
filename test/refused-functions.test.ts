// A server that refuses the functions Causeway calls (a role without the privilege,
// or a service that does not provide them) is reported once, by name and with the
// fix, in status() and an event: never a loop of opaque probe errors, never a
// stale read, and writes still go through (issue 11, item 5).
import { type Cluster, type ClusterEvents, createCluster } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, sleep } from './support/wait.js'

const ROLE = 'plainapp'
const PASSWORD = 'plain-secret-1'
let pgc: TestCluster

beforeAll(async () => {
  pgc = await startCluster({ replicas: 1 })
  // A plain login role: no superuser, no pg_monitor.
  await pgc.primary.query(`create role ${ROLE} login password '${PASSWORD}'`)
  await pgc.primary.query('create table notes (id int primary key, body text not null)')
  await pgc.primary.query(`grant select, insert, update on notes to ${ROLE}`)
})
afterAll(async () => {
  await pgc?.close()
})

/** The node's URL, logged in as the plain role. */
function asPlain(url: string): string {
  const parsed = new URL(url)
  parsed.username = ROLE
  parsed.password = PASSWORD
  return parsed.toString()
}

/** Revokes EXECUTE on `fn` from PUBLIC (a hardened server) for the test, then grants it back. */
async function withRevoked(fn: string, body: () => Promise<void>): Promise<void> {
  await pgc.primary.query(`revoke execute on function ${fn} from public`)
  try {
    // The replica replays the revoke before the cluster sees it.
    await eventually(
      async () =>
        (
          await pgc.replicas[0]!.query<{ ok: boolean }>(
            `select has_function_privilege('${ROLE}', '${fn}', 'execute') as ok`,
          )
        )[0]?.ok === false,
      'the replica to replay the revoke',
    )
    await body()
  } finally {
    await pgc.primary.query(`grant execute on function ${fn} to public`)
  }
}

async function withPlainCluster(
  fn: (cluster: Cluster, refusals: ClusterEvents['function-refused'][]) => Promise<void>,
) {
  const cluster = createCluster({
    primary: { connectionString: asPlain(pgc.primary.url), name: 'db1' },
    replicas: [{ connectionString: asPlain(pgc.replicas[0]!.url), name: 'db2' }],
    health: { intervalMillis: 50, timeoutMillis: 2_000, downAfter: 2, upAfter: 1, maxBackoffMillis: 400 },
  })
  const refusals: ClusterEvents['function-refused'][] = []
  cluster.on('function-refused', (event) => refusals.push(event))
  try {
    await fn(cluster, refusals)
  } finally {
    await cluster.close()
  }
}

/** Writes then reads back in one session, `rounds` times; returns how many reads missed their write. */
async function staleReads(cluster: Cluster, base: number, rounds: number): Promise<number> {
  let stale = 0
  for (let i = 0; i < rounds; i++) {
    const id = base + i
    await cluster.session(async () => {
      await cluster.query('insert into notes (id, body) values ($1, $2)', [id, `note ${id}`])
      const { rows } = await cluster.query<{ body: string }>('select body from notes where id = $1', [id])
      if (rows[0]?.body !== `note ${id}`) stale++
    })
  }
  return stale
}

describe('a role refused pg_last_wal_replay_lsn()', () => {
  it('reports the replica once with the function and the grant, routes no read to it, and keeps writes working', async () => {
    await withRevoked('pg_last_wal_replay_lsn()', () =>
      withPlainCluster(async (cluster, refusals) => {
        await cluster.ready()
        const node = (name: string) => cluster.status().nodes.find((n) => n.name === name)!
        await eventually(() => node('db2').state === 'down', 'the refusing replica to be down')
        expect(cluster.status().primary).toBe('db1')
        expect(node('db1').state).toBe('healthy')
        expect(node('db2').reason).toMatch(
          /^db2 refuses pg_last_wal_replay_lsn\(\) \(42501: permission denied/,
        )
        expect(node('db2').reason).toContain('Grant pg_monitor to the role Causeway connects as')

        expect(await staleReads(cluster, 1_000, 30)).toBe(0)
        const served = node('db2').served
        for (let i = 0; i < 20; i++) await cluster.query('select count(*) from notes')
        expect(node('db2').served).toBe(served)

        // Probed with backoff meanwhile, but reported once, not once per probe.
        await sleep(500)
        const forReplica = refusals.filter((r) => r.node === 'db2')
        expect(forReplica).toHaveLength(1)
        expect(forReplica[0]).toMatchObject({ function: 'pg_last_wal_replay_lsn', sqlState: '42501' })
        const text = JSON.stringify([cluster.status(), refusals])
        expect(text).not.toContain(PASSWORD)
      }),
    )
  })
})

describe('a role refused pg_current_wal_insert_lsn()', () => {
  it('reports the primary, and sends the reads after a write to the primary: 0 stale', async () => {
    await withRevoked('pg_current_wal_insert_lsn()', () =>
      withPlainCluster(async (cluster, refusals) => {
        await cluster.ready()
        const node = (name: string) => cluster.status().nodes.find((n) => n.name === name)!
        await eventually(() => node('db2').state === 'healthy', 'the replica to be healthy')
        // The replica still serves reads that need no token.
        for (let i = 0; i < 5; i++) await cluster.query('select count(*) from notes')
        expect(node('db2').served).toBeGreaterThan(0)

        expect(await staleReads(cluster, 2_000, 30)).toBe(0)
        await eventually(() => refusals.some((r) => r.node === 'db1'), 'the refused capture to be reported')
        expect(refusals).toEqual([
          expect.objectContaining({ node: 'db1', function: 'pg_current_wal_insert_lsn', sqlState: '42501' }),
        ])
        expect(node('db1').state).toBe('healthy')
        expect(node('db1').reason).toMatch(
          /^db1 refuses pg_current_wal_insert_lsn\(\).*reads after a write go to the primary/,
        )
      }),
    )
  })
})
