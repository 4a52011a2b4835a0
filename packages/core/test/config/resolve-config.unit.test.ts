import { describe, expect, it } from 'vitest'
import { createCluster } from '../../src/cluster.js'
import type { ClusterConfig } from '../../src/config/cluster-config.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { resolveSync } from '../../src/config/resolve-sync.js'

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
  it("refuses failover 'auto' without a shared lock unless the app says it is the only process", () => {
    const message = problem({ primary: url, failover: 'auto' })
    expect(message).toMatch(/failover: is 'auto', which needs autoFailover\.lock/)
    expect(message).toMatch(/autoFailover\.singleProcess/)
    expect(message).not.toContain('s3cret-pw')
    expect(
      resolveConfig({ primary: url, failover: 'auto', autoFailover: { singleProcess: true } }).failover,
    ).toBe('auto')
    const lock = { acquire: async () => undefined }
    expect(resolveConfig({ primary: url, failover: 'auto', autoFailover: { lock } }).autoFailover.lock).toBe(
      lock,
    )
  })

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

  describe('multi-host connection strings', () => {
    const systemId = '7400000000000000001'
    const multi = 'postgres://app:s3cret-pw@h1:5432,h2:5433/app?target_session_attrs=read-write'

    it('expands the primary into its candidates and each replica entry into its hosts', () => {
      const config = resolveConfig({
        primary: multi,
        replicas: ['host=h3,h4 port=5434 user=app password=s3cret-pw target_session_attrs=standby', url],
        systemId,
      })
      const names = (nodes: readonly unknown[]) => nodes.map((n) => (n as { name?: string }).name ?? n)
      expect(names(config.primary)).toEqual(['h1:5432', 'h2:5433'])
      expect(config.replicas.map(names)).toEqual([['h3:5434', 'h4:5434'], [url]])
    })

    it('requires systemId with several primary candidates, naming primary', () => {
      const message = problem({ primary: multi })
      expect(message).toMatch(/primary: lists several hosts, so systemId must be set/)
      expect(message).not.toContain('s3cret-pw')
    })

    it('checks patroni: http URLs, without echoing one, and failover follow', () => {
      expect(problem({ primary: url, patroni: { urls: [] } })).toMatch(
        /patroni\.urls: must list at least one/,
      )
      const bad = problem({ primary: url, patroni: { urls: ['pg1:s3cret-pw@8008'] } })
      expect(bad).toMatch(/patroni\.urls\[0\]: /)
      expect(bad).not.toContain('s3cret-pw')
      expect(problem({ primary: url, patroni: { urls: ['postgres://h:8008'] } })).toMatch(
        /patroni\.urls\[0\]: must be an http/,
      )
      expect(problem({ primary: url, failover: 'auto', patroni: { urls: ['http://h:8008'] } })).toMatch(
        /failover: is 'auto', but patroni is set/,
      )
      expect(resolveConfig({ primary: url, patroni: { urls: ['http://h:8008'] } }).patroni).toEqual({
        urls: ['http://h:8008'],
        intervalMillis: 500,
        timeoutMillis: 1_000,
        discover: false,
      })
    })

    it("refuses failover 'off' with several primary candidates", () => {
      expect(problem({ primary: multi, systemId, failover: 'off' })).toMatch(
        /failover: is 'off', but primary lists several hosts/,
      )
    })

    it('names the entry whose target_session_attrs asks for the other role, without echoing it', () => {
      const onPrimary = problem({
        primary: 'host=h1,h2 password=s3cret-pw target_session_attrs=standby',
        systemId,
      })
      expect(onPrimary).toMatch(/primary: target_session_attrs=standby asks for a standby/)
      expect(onPrimary).not.toContain('s3cret-pw')
      expect(problem({ primary: url, replicas: [url, { connectionString: multi, name: 'ro' }] })).toMatch(
        /replicas\[1\]\.connectionString: target_session_attrs=read-write asks for the primary/,
      )
    })

    it('names the entry of a malformed string, without echoing it', () => {
      const message = problem({ primary: url, replicas: ["host=h1 password='s3cret-pw"] })
      expect(message).toMatch(/replicas\[0\]: pair 2 \(password\): the quoted value has no closing quote/)
      expect(message).not.toContain('s3cret-pw')
    })

    it('names a host listed under primary and again under replicas', () => {
      expect(() =>
        createCluster({ primary: multi, replicas: ['postgres://h2:5433,h3/app'], systemId }),
      ).toThrow(/replicas\[0\]: its node "h2:5433" is used twice/)
    })
  })

  it('gives every omitted section all of its defaults', () => {
    const config = resolveConfig({ primary: url })
    expect(config.pool).toEqual({ max: 10, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 })
    expect(config.consistency).toEqual({
      scope: 'process',
      capture: 'eager',
      maxWaitMillis: 50,
      replayPollMillis: 5,
      reuseProofs: true,
    })
    expect(config.health).toEqual({
      intervalMillis: 500,
      timeoutMillis: 1_000,
      downAfter: 3,
      upAfter: 2,
      maxBackoffMillis: 5_000,
    })
    expect(config.autoFailover).toEqual({ primaryDownMillis: 1_000, singleProcess: false })
    expect(config.sync).toBeUndefined()
    expect(config.maxLag).toBeUndefined()
  })

  it('fills in the rest of a section given in part', () => {
    const config = resolveConfig({
      primary: url,
      health: { downAfter: 5 },
      consistency: { capture: 'lazy' },
    })
    expect(config.health).toMatchObject({ downAfter: 5, upAfter: 2, intervalMillis: 500 })
    expect(config.consistency).toMatchObject({ capture: 'lazy', scope: 'process', maxWaitMillis: 50 })
  })

  describe('sync', () => {
    it('defaults timeoutMillis to 1,000, with client mirroring to every replica that fails on timeout', () => {
      expect(resolveConfig({ primary: url, sync: {} }).sync).toEqual({
        replicas: 'all',
        timeoutMillis: 1_000,
        onTimeout: 'error',
        method: 'client',
      })
    })

    it('still takes the deprecated timeoutMs, as timeoutMillis', () => {
      const resolved = resolveConfig({ primary: url, sync: { timeoutMs: 250 } }).sync
      expect(resolved).toMatchObject({ timeoutMillis: 250 })
      expect(resolved).not.toHaveProperty('timeoutMs')
    })

    it('takes both names when they agree', () => {
      expect(
        resolveConfig({ primary: url, sync: { timeoutMs: 250, timeoutMillis: 250 } }).sync,
      ).toMatchObject({
        timeoutMillis: 250,
      })
    })

    it('names the old field when both names are set to different values', () => {
      expect(problem({ primary: url, sync: { timeoutMs: 250, timeoutMillis: 300 } })).toMatch(
        /sync\.timeoutMs: is the old name of timeoutMillis, which is also set, to another value/,
      )
    })
  })

  describe('maxLag', () => {
    it('maps the deprecated ms to millis, and keeps bytes', () => {
      const resolved = resolveConfig({ primary: url, maxLag: { ms: 800, bytes: 1024 } }).maxLag
      expect(resolved).toEqual({ bytes: 1024, millis: 800 })
    })

    it('takes millis as given', () => {
      expect(resolveConfig({ primary: url, maxLag: { millis: 700 } }).maxLag).toEqual({
        bytes: undefined,
        millis: 700,
      })
    })

    it('names the old field when ms and millis differ', () => {
      expect(problem({ primary: url, maxLag: { ms: 800, millis: 900 } })).toMatch(
        /maxLag\.ms: is the old name of millis, which is also set, to another value/,
      )
    })
  })
})

describe('resolveSync (a session’s own sync option)', () => {
  function sessionProblem(sync: unknown): string {
    try {
      resolveSync(sync as never)
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' })
      return (error as Error).message
    }
    throw new Error('expected the sync option to be rejected')
  }

  it('fills in the same defaults as the config', () => {
    expect(resolveSync({ replicas: 1 })).toEqual({
      replicas: 1,
      timeoutMillis: 1_000,
      onTimeout: 'error',
      method: 'client',
    })
    expect(resolveSync({ timeoutMs: 40 })).toMatchObject({ timeoutMillis: 40 })
  })

  it("rejects method 'server', which is a connection setting, not a session's", () => {
    expect(sessionProblem({ method: 'server' })).toMatch(
      /sync\.method: only 'client' can be chosen per session/,
    )
  })

  it('names the field of a bad value', () => {
    expect(sessionProblem({ replicas: 0 })).toMatch(/sync\.replicas: /)
    expect(sessionProblem({ timeoutMillis: -1 })).toMatch(/sync\.timeoutMillis: /)
    expect(sessionProblem({ onTimeout: 'ignore' })).toMatch(/sync\.onTimeout: /)
    expect(sessionProblem({ replica: 1 })).toMatch(/sync: unknown key "replica"/)
    expect(sessionProblem({ timeoutMs: 1, timeoutMillis: 2 })).toMatch(/sync\.timeoutMs: is the old name/)
  })
})
