import { describe, expect, it } from 'vitest'
import { createCluster } from '../../src/cluster.js'
import type { ClusterConfig } from '../../src/config/cluster-config.js'
import { resolveConfig } from '../../src/config/resolve-config.js'

const url = 'postgres://app:s3cret-pw@db1:5432/app'

function problem(config: unknown): string {
  try {
    resolveConfig(config as ClusterConfig)
  } catch (error) {
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' })
    return (error as Error).message
  }
  throw new Error('expected the config to be rejected')
}

describe('resolveConfig', () => {
  it('fills in every default', () => {
    const config = resolveConfig({ primary: url })
    expect(config).toMatchObject({
      replicas: [],
      balancer: 'least-busy',
      failover: 'follow',
      consistency: { scope: 'process', maxWaitMillis: 50 },
      health: { intervalMillis: 500, downAfter: 3, upAfter: 2 },
      pool: { max: 10, connectionTimeoutMillis: 5_000 },
      writeWaitMillis: 2_000,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('names a missing primary', () => {
    expect(problem({ replicas: [url] })).toMatch(/primary: is required/)
  })

  it('names a bad URL without echoing it', () => {
    const message = problem({ primary: url, replicas: [url, 'mysql://app:s3cret-pw@db3/app'] })
    expect(message).toMatch(/replicas\[1\]: must be a postgres:\/\/ or postgresql:\/\/ URL/)
    expect(message).not.toContain('s3cret-pw')
  })

  it('names a negative weight inside a node object', () => {
    expect(problem({ primary: url, replicas: [{ connectionString: url, weight: -1 }] })).toMatch(
      /replicas\[0\]\.weight: /,
    )
  })

  it('names unknown keys, at the top and inside a node', () => {
    expect(problem({ primary: url, replica: [url] })).toMatch(/\(config\): unknown key "replica"/)
    expect(problem({ primary: { connectionString: url, hots: 'x' } })).toMatch(/primary: unknown key "hots"/)
    expect(problem({ primary: url, health: { intervalMs: 5 } })).toMatch(/health: unknown key "intervalMs"/)
  })

  it('names a bad enum value and a bad number', () => {
    expect(problem({ primary: url, balancer: 'fast' })).toMatch(/balancer: /)
    expect(problem({ primary: url, failover: 'manual' })).toMatch(/failover: /)
    expect(problem({ primary: url, pool: { max: 0 } })).toMatch(/pool\.max: /)
    expect(problem({ primary: url, sync: { replicas: 0 } })).toMatch(/sync\.replicas: /)
  })

  it('names a pg option that is not the pg module', () => {
    expect(problem({ primary: url, pg: 'pg' })).toMatch(/pg: must be the pg module/)
    expect(problem({ primary: url, pg: { Pool: class {} } })).toMatch(/pg\.Client: is required/)
    expect(problem({ primary: url, pg: { Pool: class {}, Client: {} } })).toMatch(
      /pg\.Client: must be a class \(pg's Client\)/,
    )
  })

  it('keeps the classes of a pg option, and defaults to the peer pg', async () => {
    const pg = (await import('pg')).default
    expect(resolveConfig({ primary: url }).pg).toBe(pg)
    const driver = { Pool: pg.Pool, Client: pg.Client }
    expect(resolveConfig({ primary: url, pg: driver }).pg).toEqual(driver)
  })

  it('rejects what is not an object', () => {
    expect(problem(undefined)).toMatch(/expected an object/)
    expect(problem('postgres://x')).toMatch(/expected an object/)
  })

  it('rejects two nodes with one name at construction', () => {
    expect(() =>
      createCluster({
        primary: { connectionString: url, name: 'a' },
        replicas: [{ connectionString: url, name: 'a' }],
      }),
    ).toThrow(/replicas\[0\]\.name: "a" is used twice/)
  })
})
