// Tokens and statements from outside are untrusted input: a crafted token costs at
// most a read on the primary, a signed cluster refuses forged ones, and one bad
// statement never moves the process's reads to the primary for good (issue 15,
// items 4 and 5).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CausewayError, type Cluster, type ClusterEvents, sessionHandler } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreCluster } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

let tc: TestCluster
let systemId: string
const port = (cluster: Cluster, sql = 'select inet_server_port() as port') =>
  cluster.query<{ port: number }>(sql).then((r) => Number(r.rows[0]!.port))

beforeAll(async () => {
  tc = await startCluster({ replicas: 1 })
  await tc.primary.query('create table notes (id serial primary key, body text)')
  const [row] = await tc.primary.query<{ id: string }>(
    'select system_identifier::text as id from pg_control_system()',
  )
  systemId = row!.id
})
afterAll(() => tc?.close())

async function using<T>(cluster: Cluster, fn: () => Promise<T>): Promise<T> {
  try {
    await cluster.ready()
    return await fn()
  } finally {
    await cluster.close()
  }
}

describe('a crafted token', () => {
  // Regression: `cw1.<system>.5.0` made every read throw NO_PRIMARY at once, with no
  // event, and each read probed every node: 100 of 100 requests failed.
  it('of a timeline the cluster never reached reads from the primary, with an event, without a probe storm', async () => {
    const cluster = coreCluster(tc)
    await using(cluster, async () => {
      const stale: ClusterEvents['stale-token'][] = []
      cluster.on('stale-token', (e) => stale.push(e))
      const probesBefore = cluster.status().nodes.map((n) => n.probes)
      const started = Date.now()
      for (let i = 0; i < 100; i++) {
        const served = await cluster.session(() => port(cluster), { token: `cw1.${systemId}.5.0` })
        expect(served).toBe(tc.primary.port)
      }
      const elapsed = Date.now() - started
      expect(stale).toHaveLength(100)
      expect(stale.every((e) => e.reason === 'newer')).toBe(true)
      const probes = cluster.status().nodes.map((n, i) => n.probes - probesBefore[i]!)
      // At most one refresh per probe interval (500 ms), plus the scheduled probes.
      const bound = 2 * (Math.ceil(elapsed / 500) + 1)
      for (const count of probes) expect(count).toBeLessThanOrEqual(bound)
    })
  })

  it('of a position the primary never reached reads from the primary at once, with an event', async () => {
    const cluster = coreCluster(tc, { consistency: { maxWaitMillis: 5_000 } })
    await using(cluster, async () => {
      const stale: string[] = []
      cluster.on('stale-token', (e) => stale.push(e.reason))
      const token = `cw1.${systemId}.1.ffffffffffff`
      const started = Date.now()
      const served = await cluster.session(() => port(cluster), { token })
      expect(served).toBe(tc.primary.port)
      // It did not wait maxWaitMillis (5 s) for a replica to replay the impossible.
      expect(Date.now() - started).toBeLessThan(2_500)
      expect(stale).toEqual(['unreachable'])
    })
  })

  it('of another system reads from the primary, with an event', async () => {
    const cluster = coreCluster(tc)
    await using(cluster, async () => {
      const stale: string[] = []
      cluster.on('stale-token', (e) => stale.push(e.reason))
      const served = await cluster.session(() => port(cluster), { token: 'cw1.12345.1.0' })
      expect(served).toBe(tc.primary.port)
      expect(stale).toEqual(['system'])
    })
  })
})

describe('consistency.tokenSecret', () => {
  const secret = 'a-secret-of-at-least-16-chars'

  it('signs tokens, carries them between clusters with the same secret, and refuses forged ones', async () => {
    const writer = coreCluster(tc, { consistency: { tokenSecret: secret } })
    const reader = coreCluster(tc, { consistency: { tokenSecret: [secret] } })
    await using(writer, () =>
      using(reader, async () => {
        const token = await writer.session(async () => {
          await writer.query(`insert into notes (body) values ('signed')`)
          return writer.token()
        })
        expect(token).toMatch(/^cw1\.\d+\.1\.[0-9a-f]+\.[A-Za-z0-9_-]{22}$/)
        const rows = await reader.session(
          async () => (await reader.query(`select 1 from notes where body = 'signed'`)).rows,
          { token: token! },
        )
        expect(rows).toHaveLength(1)
        const [, sys, tl, , sig] = token!.split('.')
        for (const forged of [`cw1.${sys}.${tl}.ffffffff.${sig}`, `cw1.${sys}.${tl}.0`]) {
          const error = await reader.session(async () => 1, { token: forged }).catch((e: unknown) => e)
          expect(error).toBeInstanceOf(CausewayError)
          expect((error as CausewayError).code).toBe('TOKEN_INVALID')
          expect(reader.isValidToken(forged)).toBe(false)
        }
      }),
    )
  })

  it('makes sessionHandler answer a forged token with a 400', async () => {
    const cluster = coreCluster(tc, { consistency: { tokenSecret: secret } })
    await using(cluster, async () => {
      const server = createServer(
        sessionHandler(cluster, async (_req, res) => {
          await cluster.query(`insert into notes (body) values ('http')`)
          res.end('ok')
        }),
      )
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
        const good = await fetch(url)
        const token = good.headers.get('x-causeway-token')
        expect(good.status).toBe(200)
        expect(token).toMatch(/\.[A-Za-z0-9_-]{22}$/)
        const forged = token!.replace(/\.([0-9a-f]+)\.([A-Za-z0-9_-]{22})$/, '.ffffffffff.$2')
        const bad = await fetch(url, { headers: { 'x-causeway-token': forged } })
        expect(bad.status).toBe(400)
        expect(await bad.text()).not.toContain(forged)
        const again = await fetch(url, { headers: { 'x-causeway-token': token! } })
        expect(again.status).toBe(200)
      } finally {
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })

  it('is never shown in a config error', () => {
    expect(() => coreCluster(tc, { consistency: { tokenSecret: 'short-secret' } })).toThrow(
      /consistency\.tokenSecret: must be at least 16 characters/,
    )
    try {
      coreCluster(tc, { consistency: { tokenSecret: 'short-secret' } })
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('short-secret')
    }
  })
})

describe('one failed statement', () => {
  // Regression: a NUL in the SQL text was reported as WRITE_OUTCOME_UNKNOWN (the
  // server's 08P01 was taken for a lost connection), and the process scope then
  // sent every later read to the primary until the next write: forever, in a
  // read-only service.
  it('with a NUL byte fails as its own statement error, and reads stay on the replicas', async () => {
    const cluster = coreCluster(tc)
    await using(cluster, async () => {
      const error = await cluster
        .query(`insert into notes (body) values ('a\u0000b')`)
        .catch((e: unknown) => e)
      expect(error).not.toBeInstanceOf(CausewayError)
      expect((error as { code?: string }).code).toBe('08P01')
      const replica = tc.replicas[0]!.port
      await eventually(async () => (await port(cluster)) === replica, 'a read on the replica')
      for (let i = 0; i < 10; i++) expect(await port(cluster)).toBe(replica)
      expect(cluster.status().fallbacks['not-caught-up']).toBe(0)
    })
  })

  it('of unknown outcome moves the reads to the primary only until its session is gone', async () => {
    const cluster = coreCluster(tc)
    await using(cluster, async () => {
      const writing = cluster.query(`insert into notes (body) select 'slow' from pg_sleep(30)`)
      const outcome = writing.catch((e: unknown) => e)
      await eventually(
        async () =>
          (
            await tc.primary.query(
              `select 1 from pg_stat_activity where query like 'insert into notes%pg_sleep%'`,
            )
          ).length === 1,
        'the slow write to run',
      )
      await tc.primary.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where query like 'insert into notes%pg_sleep%'`,
      )
      const error = await outcome
      expect((error as CausewayError).code).toBe('WRITE_OUTCOME_UNKNOWN')
      // The next read goes to the primary (the write might have committed)…
      expect(await port(cluster)).toBe(tc.primary.port)
      // …and once the write's session is known to be gone, a token covers it.
      const replica = tc.replicas[0]!.port
      await eventually(async () => {
        await sleep(20)
        return (await port(cluster)) === replica
      }, 'reads to return to the replica')
    })
  })
})
