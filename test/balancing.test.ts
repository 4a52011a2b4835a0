import type { BalancerFunction, BalancerName, ClusterConfig } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterConfig } from './support/fixture.js'

interface DB {
  kv: { k: number; v: string }
}

let cluster: TestCluster

beforeAll(async () => {
  cluster = await startCluster({ replicas: 2 })
  await cluster.primary.query(`create table kv (k int primary key, v text)`)
  await cluster.primary.query(`insert into kv select i, 'v' || i from generate_series(1, 100) i`)
})
afterAll(() => cluster.close())

/** Runs `reads` sequential point reads through a dialect with `config`; returns reads per replica. */
async function spread(config: Partial<ClusterConfig>, reads = 200): Promise<Record<string, number>> {
  const dialect = new CausewayDialect(
    clusterConfig(cluster, { consistency: { scope: 'session' }, ...config }),
  )
  const db = new Kysely<DB>({ dialect })
  try {
    await dialect.cluster.ready()
    for (let i = 0; i < reads; i++)
      await db
        .selectFrom('kv')
        .select('v')
        .where('k', '=', (i % 100) + 1)
        .execute()
    const status = dialect.cluster.status()
    return Object.fromEntries(status.nodes.map((n) => [n.name, n.served]))
  } finally {
    await db.destroy()
  }
}

const weighted = (weights: Record<string, number>): Partial<ClusterConfig> => ({
  replicas: cluster.replicas.map((n) => ({
    connectionString: n.url,
    name: n.name,
    weight: weights[n.name] ?? 1,
  })),
})

describe('balancers on a real cluster', () => {
  it.each(['round-robin', 'least-busy'] satisfies BalancerName[])(
    '%s spreads a sequential load evenly',
    async (balancer) => {
      expect(await spread({ balancer })).toEqual({ pg1: 0, pg2: 100, pg3: 100 })
    },
  )

  it('random spreads within tolerance', async () => {
    const counts = await spread({ balancer: 'random' }, 400)
    expect(counts.pg1).toBe(0)
    expect(counts.pg2).toBeGreaterThan(400 * 0.35)
    expect(counts.pg3).toBeGreaterThan(400 * 0.35)
  })

  it.each(['round-robin', 'least-busy'] satisfies BalancerName[])(
    '%s respects weights (3:1)',
    async (balancer) => {
      expect(await spread({ balancer, ...weighted({ pg2: 3, pg3: 1 }) })).toEqual({
        pg1: 0,
        pg2: 150,
        pg3: 50,
      })
    },
  )

  it('random respects weights (3:1) within tolerance', async () => {
    const counts = await spread({ balancer: 'random', ...weighted({ pg2: 3, pg3: 1 }) }, 400)
    expect(counts.pg2! / 400).toBeGreaterThan(0.65)
    expect(counts.pg2! / 400).toBeLessThan(0.85)
  })

  it('fastest prefers the replica with the lowest latency per unit of weight', async () => {
    // Real latencies of two loopback replicas are close; a weight of 10 makes pg2 clearly "faster".
    const counts = await spread({ balancer: 'fastest', ...weighted({ pg2: 10, pg3: 1 }) })
    expect(counts.pg2! + counts.pg3!).toBe(200)
    expect(counts.pg2).toBeGreaterThan(190)
  })

  it('a user function decides', async () => {
    const lastOne: BalancerFunction = (candidates) => candidates.length - 1
    expect(await spread({ balancer: lastOne })).toEqual({ pg1: 0, pg2: 0, pg3: 200 })
  })
})
