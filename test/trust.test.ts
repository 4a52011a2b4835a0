// No foreign server trusted: a node serves reads or takes writes only once its
// system identifier is known to be the cluster's (issue 15, items 2 and 8).
import { CausewayError, type Cluster, createCluster } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './support/wait.js'

let ours: TestCluster
let foreign: TestCluster

beforeAll(async () => {
  ;[ours, foreign] = await Promise.all([startCluster({ replicas: 1 }), startCluster({ replicas: 1 })])
  await ours.primary.query('create table marker (who text)')
  await ours.primary.query(`insert into marker values ('ours')`)
  await foreign.primary.query('create table marker (who text)')
  await foreign.primary.query(`insert into marker values ('foreign')`)
  await eventually(
    async () => (await ours.replicas[0]!.query('select 1 from marker')).length === 1,
    'our replica to have the marker',
  )
  await eventually(
    async () => (await foreign.replicas[0]!.query('select 1 from marker')).length === 1,
    'the foreign replica to have the marker',
  )
})
afterAll(async () => {
  await Promise.all([ours?.close(), foreign?.close()])
})

async function withCluster<T>(make: () => Cluster, fn: (cluster: Cluster) => Promise<T>): Promise<T> {
  const cluster = make()
  try {
    return await fn(cluster)
  } finally {
    await cluster.close()
  }
}

describe('a server of another cluster', () => {
  // Regression: with our primary down at start, about half of the reads were served
  // by another cluster's replica, and another cluster's primary took a write.
  it('serves no read and takes no write while our primary is down at start, and is fenced once it answers', async () => {
    await ours.primary.stop()
    try {
      await withCluster(
        () =>
          createCluster({
            primary: { connectionString: ours.primary.url, name: 'ours' },
            replicas: [
              { connectionString: foreign.replicas[0]!.url, name: 'foreign-replica' },
              { connectionString: foreign.primary.url, name: 'foreign-primary' },
              { connectionString: ours.replicas[0]!.url, name: 'our-replica' },
            ],
            health: {
              intervalMillis: 50,
              timeoutMillis: 500,
              downAfter: 1,
              upAfter: 1,
              maxBackoffMillis: 100,
            },
          }),
        async (cluster) => {
          const fenced: string[] = []
          cluster.on('node-fenced', (e) => fenced.push(`${e.node}: ${e.reason}`))
          await cluster.ready()
          const state = (name: string) => cluster.status().nodes.find((n) => n.name === name)?.state
          await eventually(
            () =>
              ['foreign-replica', 'foreign-primary', 'our-replica'].every((n) => state(n) === 'unverified'),
            'the other nodes to answer, unverified',
          )
          expect(cluster.status().primary).toBeUndefined()
          for (let i = 0; i < 20; i++) {
            const read = await cluster.query<{ who: string }>('select who from marker').then(
              (r) => r.rows[0]?.who,
              (error: unknown) => (error as CausewayError).code,
            )
            expect(read).not.toBe('foreign')
          }
          await expect(cluster.query(`insert into marker values ('written')`)).rejects.toMatchObject({
            code: 'NO_PRIMARY',
          })
          expect(await foreign.primary.query(`select 1 from marker where who = 'written'`)).toHaveLength(0)

          await ours.primary.start()
          await eventually(() => cluster.status().primary === 'ours', 'our primary to be back')
          await eventually(
            () => fenced.filter((f) => f.startsWith('foreign-')).length === 2,
            'both foreign nodes to be fenced',
          )
          expect(fenced.join('\n')).toMatch(/foreign-primary: system identifier \d+ is not the cluster's \d+/)
          await eventually(
            () => cluster.status().nodes.find((n) => n.name === 'our-replica')?.state === 'healthy',
            'our replica to be verified',
          )
          for (let i = 0; i < 20; i++) {
            const { rows } = await cluster.query<{ who: string }>(
              'select who from marker order by who limit 1',
            )
            expect(rows[0]?.who).toBe('ours')
          }
        },
      )
    } finally {
      if (
        !(await ours.primary.isInRecovery().then(
          () => true,
          () => false,
        ))
      )
        await ours.primary.start()
    }
  })

  it('with a pinned systemId, serves reads from our replica while our primary is down, never from the foreign one', async () => {
    const [row] = await ours.primary.query<{ id: string }>(
      'select system_identifier::text as id from pg_control_system()',
    )
    const id = row!.id
    await ours.primary.stop()
    try {
      await withCluster(
        () =>
          createCluster({
            primary: { connectionString: ours.primary.url, name: 'ours' },
            replicas: [
              { connectionString: foreign.replicas[0]!.url, name: 'foreign-replica' },
              { connectionString: ours.replicas[0]!.url, name: 'our-replica' },
            ],
            systemId: id,
          }),
        async (cluster) => {
          await cluster.ready()
          for (let i = 0; i < 20; i++) {
            const { rows } = await cluster.query<{ who: string }>('select who from marker')
            expect(rows[0]?.who).toBe('ours')
          }
          expect(cluster.status().nodes.find((n) => n.name === 'foreign-replica')?.state).toBe('fenced')
        },
      )
    } finally {
      await ours.primary.start()
    }
  })

  it('cannot be promoted by promote(name)', async () => {
    await withCluster(
      () =>
        createCluster({
          primary: { connectionString: ours.primary.url, name: 'ours' },
          replicas: [{ connectionString: foreign.replicas[0]!.url, name: 'foreign-replica' }],
        }),
      async (cluster) => {
        await cluster.ready()
        const error = await cluster.promote('foreign-replica').catch((e: unknown) => e)
        expect(error).toBeInstanceOf(CausewayError)
        expect((error as CausewayError).code).toBe('NODE_FENCED')
        expect(await foreign.replicas[0]!.isInRecovery()).toBe(true)
      },
    )
  })
})

describe('the primary listed twice', () => {
  // Regression: it was fenced as "a second writable node", which reads like a split brain.
  it('is fenced as the primary itself, not as a second writable node', async () => {
    const again = ours.primary.url.replace('127.0.0.1', 'localhost')
    await withCluster(
      () =>
        createCluster({
          primary: { connectionString: ours.primary.url, name: 'pg1' },
          replicas: [{ connectionString: again, name: 'pg1-again' }],
        }),
      async (cluster) => {
        await cluster.ready()
        const node = cluster.status().nodes.find((n) => n.name === 'pg1-again')
        expect(node?.state).toBe('fenced')
        expect(node?.reason).toMatch(/the same server as the primary pg1/)
        expect(node?.reason).not.toMatch(/second writable/)
      },
    )
  })
})
