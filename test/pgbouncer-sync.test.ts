import { CausewayError, type Cluster, type ClusterConfig, createCluster } from '@causeway/core'
import {
  backendOf,
  type ClusterNode,
  pgbouncerAvailable,
  type RunningProxy,
  startCluster,
  startPgbouncer,
  type TestCluster,
} from '@causeway/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loginOf, titled } from './support/proxies.js'
import { sleep } from './support/wait.js'

// Synchronous mirroring with every node behind a PgBouncer of its own in
// transaction mode. PgBouncer refuses the `options` startup parameter that
// `sync: { method: 'server' }` sends directly to a server, and a per-session SET
// would not outlive one pooled transaction: the setting has to be the role's or
// the database's own default. Database `mirrored` has it; `postgres` does not.
const pgbouncer = pgbouncerAvailable()

describe.skipIf(!pgbouncer.ok)(
  titled('synchronous mirroring through PgBouncer (transaction mode)', pgbouncer),
  () => {
    let cluster: TestCluster
    let bouncers: RunningProxy[] = []
    let dropping: RunningProxy | undefined
    const clusters: Cluster[] = []

    beforeAll(async () => {
      cluster = await startCluster({ replicas: 1, syncStandbys: 1 })
      await cluster.primary.query('create database mirrored')
      await cluster.primary.query('alter database mirrored set synchronous_commit = remote_apply')
      for (const database of ['postgres', 'mirrored']) {
        await queryOnce(
          inDatabase(cluster.primary.url, database),
          'create table notes (id serial primary key, body text not null)',
        )
      }
      bouncers = await Promise.all(
        cluster.nodes.map((node) =>
          startPgbouncer({ backend: backendOf(node.url), poolMode: 'transaction', ...loginOf(node.url) }),
        ),
      )
      // A PgBouncer told to drop the option silently instead of refusing it.
      dropping = await startPgbouncer({
        backend: backendOf(cluster.primary.url),
        poolMode: 'transaction',
        ...loginOf(cluster.primary.url),
        settings: { ignore_startup_parameters: 'options' },
      })
    })
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map((c) => c.close()))
    })
    afterAll(async () => {
      await Promise.all([...bouncers, dropping].map((bouncer) => bouncer?.close()))
      await cluster?.close()
    })

    /** A Causeway cluster over the poolers, on `database`. */
    function causewayOn(database: string, sync: ClusterConfig['sync']): Cluster {
      const [primary, replica] = cluster.nodes.map((node, i) => ({
        connectionString: inDatabase(bouncers[i]!.urlFor(node.url), database),
        name: node.name,
      }))
      const causeway = createCluster({ primary: primary!, replicas: [replica!], sync })
      clusters.push(causeway)
      return causeway
    }

    /**
     * With the replica's replay paused, a write must not return: mirroring waits for
     * it to apply the write. Once replay resumes, the write returns, and the replica has it.
     */
    async function expectWriteWaitsForReplay(
      causeway: Cluster,
      database: string,
      body: string,
    ): Promise<void> {
      const replica = cluster.replicas[0] as ClusterNode
      await replica.pauseReplay()
      let returned = false
      const write = causeway
        .query<{ id: number }>('insert into notes (body) values ($1) returning id', [body])
        .finally(() => {
          returned = true
        })
      try {
        await sleep(400)
        expect(returned).toBe(false)
      } finally {
        await replica.resumeReplay()
      }
      const { rows } = await write
      const seen = await queryOnce(
        inDatabase(replica.url, database),
        'select body from notes where id = $1',
        [rows[0]!.id],
      )
      expect(seen).toEqual([{ body }])
    }

    it("sync.method 'server' works where the database (or role) sets synchronous_commit = remote_apply", async () => {
      const causeway = causewayOn('mirrored', { method: 'server' })
      await causeway.ready()
      const { rows } = await causeway.query<{ value: string }>(
        `insert into notes (body) values ('setting') returning current_setting('synchronous_commit') as value`,
      )
      expect(rows[0]?.value).toBe('remote_apply')
      await expectWriteWaitsForReplay(causeway, 'mirrored', 'server-mirrored')
      // Probes go through the poolers too, with no startup option: both nodes answer them.
      expect(causeway.status().nodes.map((node) => node.state)).toEqual(['healthy', 'healthy'])
    })

    it("sync.method 'server' fails with an error naming the option and what to run where remote_apply is not configured", async () => {
      const causeway = causewayOn('postgres', { method: 'server' })
      await causeway.ready()
      const error = await causeway
        .query(`insert into notes (body) values ('unmirrored')`)
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CausewayError)
      expect((error as CausewayError).code).toBe('CONFIG_INVALID')
      expect((error as CausewayError).message).toMatch(/sync\.method 'server'/)
      expect((error as CausewayError).message).toMatch(/refuses the startup parameter "options"/)
      expect((error as CausewayError).message).toMatch(
        /ALTER ROLE "postgres" SET synchronous_commit = remote_apply/,
      )
      expect((error as CausewayError).message).not.toContain(loginOf(cluster.primary.url).password)
      // Nothing was written unmirrored.
      expect(await cluster.primary.query(`select 1 from notes where body = 'unmirrored'`)).toEqual([])
    })

    it('a pooler that drops the option (ignore_startup_parameters) is caught, not trusted', async () => {
      const node = (database: string) => ({
        connectionString: inDatabase(dropping!.urlFor(cluster.primary.url), database),
        name: 'pg1',
      })
      const unset = createCluster({ primary: node('postgres'), sync: { method: 'server' } })
      clusters.push(unset)
      const error = await unset.query(`insert into notes (body) values ('dropped')`).catch((e: unknown) => e)
      expect((error as CausewayError).code).toBe('CONFIG_INVALID')
      expect((error as CausewayError).message).toMatch(/ignore_startup_parameters/)

      const configured = createCluster({ primary: node('mirrored'), sync: { method: 'server' } })
      clusters.push(configured)
      const { rows } = await configured.query<{ value: string }>(
        `select current_setting('synchronous_commit') as value`,
      )
      expect(rows[0]?.value).toBe('remote_apply')
    })

    it("sync.method 'client' works through the poolers: replay positions are polled through them", async () => {
      const causeway = causewayOn('postgres', { method: 'client', timeoutMillis: 10_000 })
      await causeway.ready()
      await expectWriteWaitsForReplay(causeway, 'postgres', 'client-mirrored')
    })
  },
)

/** `url` on another database. */
function inDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

async function queryOnce(url: string, sql: string, params: unknown[] = []): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql, params)).rows
  } finally {
    await client.end()
  }
}
