import { readFileSync, realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type Cluster, type ClusterConfig, createCluster, type PgDriver } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterConfig } from './support/fixture.js'

// Issue 15, item 12: with a second copy of `pg` inside @causeway/core, the app's
// `pg.types` parsers did not apply to Causeway's results and its errors were not
// `instanceof` the app's `pg.DatabaseError`. Core now takes `pg` as a peer (one
// copy: the app's), and a `pg` option hands over the app's module explicitly.

interface DB {
  uniq: { id: number; label: string }
}

const require = createRequire(import.meta.url)
const INT8 = 20

let cluster: TestCluster
/** What the app's own pg, with no Causeway, returns: the baseline. */
let plain: Kysely<DB>

beforeAll(async () => {
  cluster = await startCluster({ replicas: 1 })
  await cluster.primary.query('create table uniq (id int primary key, label text not null)')
  await cluster.primary.query(`insert into uniq values (1, 'one')`)
  plain = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: cluster.primary.url, max: 1 }) }),
  })
})
afterAll(async () => {
  await plain?.destroy()
  await cluster?.close()
})

/** A core cluster and a Kysely over it; `use` runs with both, and both are closed after. */
async function withCauseway<T>(
  extra: Partial<ClusterConfig>,
  use: (causeway: Cluster, db: Kysely<DB>) => Promise<T>,
): Promise<T> {
  const core = createCluster(clusterConfig(cluster, extra))
  const db = new Kysely<DB>({ dialect: new CausewayDialect({ cluster: core }) })
  try {
    await core.ready()
    return await use(core, db)
  } finally {
    await db.destroy()
    await core.close()
  }
}

/** `select 1::int8` through Causeway: by `cluster.query` and by Kysely. */
async function int8Through(causeway: Cluster, db: Kysely<DB>): Promise<unknown[]> {
  const { rows } = await causeway.query<{ n: unknown }>('select 1::int8 as n')
  const viaKysely = await sql<{ n: unknown }>`select 1::int8 as n`.execute(db)
  return [rows[0]?.n, viaKysely.rows[0]?.n]
}

/** A unique violation through Causeway: by `cluster.query` and by Kysely. */
async function violations(causeway: Cluster, db: Kysely<DB>): Promise<unknown[]> {
  const viaQuery = await causeway
    .query(`insert into uniq values (1, 'again')`)
    .catch((error: unknown) => error)
  const viaKysely = await db
    .insertInto('uniq')
    .values({ id: 1, label: 'again' })
    .execute()
    .catch((error: unknown) => error)
  return [viaQuery, viaKysely]
}

/** Runs `work` with int8 parsed as a number by `types`, then restores pg's own parser. */
async function withInt8AsNumber<T>(types: typeof pg.types, work: () => Promise<T>): Promise<T> {
  const original = types.getTypeParser(INT8, 'text')
  types.setTypeParser(INT8, Number)
  try {
    return await work()
  } finally {
    types.setTypeParser(INT8, original)
  }
}

/**
 * A second instance of `pg` with its own `pg-types`, `pg-protocol` and `pg-pool`:
 * what an app gets at run time when two copies are installed. The module cache is
 * put back afterwards, so every other `require('pg')` still gets the first one.
 */
function loadSecondPg(): typeof pg {
  const isPgFile = (path: string) => /[\\/]node_modules[\\/](pg|pg-types|pg-protocol|pg-pool)[\\/]/.test(path)
  const saved = Object.entries(require.cache).filter(([path]) => isPgFile(path))
  for (const [path] of saved) delete require.cache[path]
  try {
    return require('pg') as typeof pg
  } finally {
    for (const path of Object.keys(require.cache)) if (isPgFile(path)) delete require.cache[path]
    for (const [path, module] of saved) require.cache[path] = module
  }
}

describe('the peer pg (no pg option)', () => {
  it('is the same pg module the app resolves: core declares it a peer, not a dependency of its own', () => {
    const core = JSON.parse(readFileSync(new URL('../packages/core/package.json', import.meta.url), 'utf8'))
    expect(core.dependencies?.pg).toBeUndefined()
    expect(core.peerDependencies?.pg).toBe('^8.23.0')
    // In this workspace there is one copy, so the tests below see the same module
    // the app (this file) imports; a second copy is simulated further down.
    const fromCore = createRequire(new URL('../packages/core/src/index.ts', import.meta.url)).resolve('pg')
    expect(realpathSync(fromCore)).toBe(realpathSync(require.resolve('pg')))
  })

  it("applies the app's pg.types parsers, as PostgresDialect does", async () => {
    const [baseline, got] = await withInt8AsNumber(pg.types, async () => [
      (await sql<{ n: unknown }>`select 1::int8 as n`.execute(plain)).rows[0]?.n,
      await withCauseway({}, int8Through),
    ])
    expect(baseline).toBe(1)
    expect(got).toEqual([1, 1])
    // Restored: pg's own parser gives a string again.
    expect(await withCauseway({}, int8Through)).toEqual(['1', '1'])
  })

  it("throws the app's pg.DatabaseError, with its code and detail", async () => {
    const errors = await withCauseway({}, violations)
    for (const error of errors) {
      expect(error).toBeInstanceOf(pg.DatabaseError)
      expect(error).toMatchObject({ code: '23505', detail: 'Key (id)=(1) already exists.' })
    }
  })

  it("passes a node's own types option through to its connections", async () => {
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === INT8 ? (text: string) => BigInt(text) : pg.types.getTypeParser(oid, format),
    }
    const config = clusterConfig(cluster)
    const withTypes = (node: ClusterConfig['primary']) => ({ ...(node as object), types })
    const got = await withCauseway(
      { primary: withTypes(config.primary), replicas: config.replicas?.map(withTypes) ?? [] },
      int8Through,
    )
    expect(got).toEqual([1n, 1n])
  })
})

describe('a second copy of pg', () => {
  const second = loadSecondPg()

  it('is a separate module, with its own types and DatabaseError', () => {
    expect(second).not.toBe(pg)
    expect(second.types).not.toBe(pg.types)
    expect(second.DatabaseError).not.toBe(pg.DatabaseError)
  })

  it('is not seen when it is not handed over: the failure the pg option exists for', async () => {
    const got = await withInt8AsNumber(second.types, () => withCauseway({}, int8Through))
    expect(got).toEqual(['1', '1'])
    for (const error of await withCauseway({}, violations)) {
      expect(error).not.toBeInstanceOf(second.DatabaseError)
    }
  })

  it('handed over as the pg option, builds every pool and connection, and its parsers and errors apply', async () => {
    const counts = { pools: 0, pooled: 0, side: 0 }
    class CountingPool extends second.Pool {
      constructor(config?: pg.PoolConfig) {
        super(config)
        counts.pools++
      }
    }
    class CountingClient extends second.Client {
      constructor(config?: pg.ClientConfig) {
        super(config)
        // Core subclasses Client for its pools; the probes use it as given.
        if (new.target === CountingClient) counts.side++
        else counts.pooled++
      }
    }
    const driver: PgDriver = { Pool: CountingPool, Client: CountingClient }

    const [got, errors] = await withInt8AsNumber(second.types, () =>
      withCauseway({ pg: driver }, async (causeway, db) => [
        await int8Through(causeway, db),
        await violations(causeway, db),
      ]),
    )
    expect(got).toEqual([1, 1])
    for (const error of errors as unknown[]) {
      expect(error).toBeInstanceOf(second.DatabaseError)
      expect(error).not.toBeInstanceOf(pg.DatabaseError)
      expect(error).toMatchObject({ code: '23505', detail: 'Key (id)=(1) already exists.' })
    }
    // One pool per node (primary and replica), a probe connection per node, and
    // pooled connections on both (the reads on the replica, the writes on the primary).
    expect(counts.pools).toBe(2)
    expect(counts.side).toBeGreaterThanOrEqual(2)
    expect(counts.pooled).toBeGreaterThanOrEqual(2)
  })
})
