// A CausewayDialect can be reused after db.destroy(), as PostgresDialect with a pool
// factory can (Kysely's own test setup builds a new Kysely from the same dialect);
// a cluster the app passed in is the app's and outlives db.destroy().
import { type Cluster, type ClusterConfig, createCluster } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let cluster: TestCluster
let config: ClusterConfig

beforeAll(async () => {
  cluster = await startCluster({ replicas: 1 })
  config = {
    primary: { connectionString: cluster.primary.url, name: cluster.primary.name },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
  }
})
afterAll(() => cluster?.close())

const one = async (db: Kysely<unknown>) => (await sql<{ one: number }>`select 1 as one`.execute(db)).rows
const isClosed = (c: Cluster) =>
  c
    .session(() => undefined)
    .then(
      () => false,
      (e: unknown) => /the cluster is closed/.test(String(e)),
    )

describe('a dialect made from a config', () => {
  it('serves a new Kysely instance after the first one was destroyed, with a new cluster', async () => {
    const dialect = new CausewayDialect(config)
    const first = new Kysely<unknown>({ dialect })
    const firstCluster = dialect.cluster
    expect(await one(first)).toEqual([{ one: 1 }])
    await first.destroy()
    expect(await isClosed(firstCluster)).toBe(true)

    const second = new Kysely<unknown>({ dialect })
    try {
      // dialect.cluster is the new Kysely's cluster before its first query.
      expect(dialect.cluster).not.toBe(firstCluster)
      expect(await isClosed(dialect.cluster)).toBe(false)
      expect(await one(second)).toEqual([{ one: 1 }])
    } finally {
      await second.destroy()
    }
    expect(await isClosed(dialect.cluster)).toBe(true)
  })

  it('keeps one cluster for Kysely instances that are live together; the last destroy() closes it', async () => {
    const dialect = new CausewayDialect(config)
    const a = new Kysely<unknown>({ dialect })
    const b = new Kysely<unknown>({ dialect })
    const shared = dialect.cluster
    await one(a)
    await one(b)
    await a.destroy()
    expect(await one(b)).toEqual([{ one: 1 }])
    expect(dialect.cluster).toBe(shared)
    await b.destroy()
    expect(await isClosed(shared)).toBe(true)
  })

  it('gives a Kysely instance created earlier but first used after the others were destroyed a live cluster', async () => {
    const dialect = new CausewayDialect(config)
    const early = new Kysely<unknown>({ dialect })
    const used = new Kysely<unknown>({ dialect })
    await one(used)
    await used.destroy()
    try {
      expect(await one(early)).toEqual([{ one: 1 }])
      expect(await isClosed(dialect.cluster)).toBe(false)
    } finally {
      await early.destroy()
    }
  })

  it('calls a cluster factory again for a reused dialect', async () => {
    let made = 0
    const dialect = new CausewayDialect({
      cluster: () => {
        made++
        return createCluster(config)
      },
    })
    for (let i = 0; i < 2; i++) {
      const db = new Kysely<unknown>({ dialect })
      expect(await one(db)).toEqual([{ one: 1 }])
      await db.destroy()
    }
    expect(made).toBe(2)
    expect(await isClosed(dialect.cluster)).toBe(true)
  })
})

describe('a dialect given { cluster }', () => {
  it('leaves the cluster open on db.destroy(): the app owns it', async () => {
    const shared = createCluster(config)
    try {
      const dialect = new CausewayDialect({ cluster: shared })
      const first = new Kysely<unknown>({ dialect })
      await one(first)
      await first.destroy()
      const second = new Kysely<unknown>({ dialect })
      expect(await one(second)).toEqual([{ one: 1 }])
      await second.destroy()
      expect(dialect.cluster).toBe(shared)
      expect((await shared.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    } finally {
      await shared.close()
    }
  })
})
