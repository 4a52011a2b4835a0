import { describe, expect, it } from 'vitest'
import { expandNode, nodeConfigAt } from '../../src/config/expand-node.js'

function problem(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' })
    return (error as Error).message
  }
  throw new Error('expected the entry to be rejected')
}

describe('expandNode', () => {
  it('makes one node per host, named host:port, each a single-host URL', () => {
    expect(
      expandNode(
        'postgres://app:pw@h1,h2:5433/db?target_session_attrs=read-write&sslmode=require',
        'primary',
      ),
    ).toEqual([
      {
        name: 'h1:5432',
        connectionString: 'postgres://app:pw@h1:5432/db?sslmode=require',
        host: 'h1',
        port: 5432,
      },
      {
        name: 'h2:5433',
        connectionString: 'postgres://app:pw@h2:5433/db?sslmode=require',
        host: 'h2',
        port: 5433,
      },
    ])
  })

  it('names the nodes of a named entry <name>-<host:port>, and keeps its other options on each', () => {
    const nodes = expandNode(
      { connectionString: 'host=h1,h2 port=5432,5433 dbname=app', name: 'ro', weight: 2, max: 4 },
      'replica',
    )
    expect(nodes.map((n) => typeof n !== 'string' && [n.name, n.weight, n.max])).toEqual([
      ['ro-h1:5432', 2, 4],
      ['ro-h2:5433', 2, 4],
    ])
  })

  it('keeps a plain single-host URL exactly as given', () => {
    const url = 'postgres://app:pw@db1/app?application_name=x'
    expect(expandNode(url, 'primary')).toEqual([url])
    const object = { connectionString: url, name: 'db1' }
    expect(expandNode(object, 'replica')).toEqual([object])
    expect(expandNode({ host: 'db1', port: 5432 }, 'replica')).toEqual([{ host: 'db1', port: 5432 }])
  })

  it('makes a single-host key/value string one node under its own name', () => {
    expect(expandNode({ connectionString: 'host=db1 dbname=app', name: 'db1' }, 'primary')).toEqual([
      { name: 'db1', connectionString: 'postgres://db1:5432/app', host: 'db1', port: 5432 },
    ])
    expect(expandNode('host=/tmp port=6000', 'replica')).toEqual([
      {
        name: '/tmp:6000',
        connectionString: 'postgres://localhost:6000/?host=%2Ftmp',
        host: '/tmp',
        port: 6000,
      },
    ])
  })

  it('strips target_session_attrs from a single-host URL', () => {
    expect(expandNode('postgres://db1/app?target_session_attrs=standby', 'replica')).toEqual([
      { name: 'db1:5432', connectionString: 'postgres://db1:5432/app', host: 'db1', port: 5432 },
    ])
  })

  it.each(['any', 'read-write', 'primary'])('takes target_session_attrs=%s on the primary', (attrs) => {
    expect(expandNode(`host=h1,h2 target_session_attrs=${attrs}`, 'primary')).toHaveLength(2)
  })

  it.each(['any', 'standby', 'prefer-standby', 'read-only'])(
    'takes target_session_attrs=%s on a replica entry',
    (attrs) => {
      expect(expandNode(`host=h1,h2 target_session_attrs=${attrs}`, 'replica')).toHaveLength(2)
    },
  )

  it.each(['standby', 'prefer-standby', 'read-only'])(
    'refuses target_session_attrs=%s on the primary',
    (attrs) => {
      expect(
        problem(() => expandNode(`postgres://h1,h2/db?target_session_attrs=${attrs}`, 'primary')),
      ).toMatch(`target_session_attrs=${attrs} asks for a standby, but this is the primary`)
    },
  )

  it.each(['read-write', 'primary'])('refuses target_session_attrs=%s on a replica entry', (attrs) => {
    expect(problem(() => expandNode(`host=h1 target_session_attrs=${attrs}`, 'replica'))).toMatch(
      `target_session_attrs=${attrs} asks for the primary, but this is a replica entry`,
    )
  })
})

describe('nodeConfigAt', () => {
  it("keeps the template's credentials, database and options at another host, without target_session_attrs", () => {
    expect(
      nodeConfigAt(
        'postgres://app:pw@h1,h2/app?sslmode=disable&target_session_attrs=read-write',
        'pg3',
        'h3',
        6432,
      ),
    ).toEqual({
      name: 'pg3',
      connectionString: 'postgres://app:pw@h3:6432/app?sslmode=disable',
      host: 'h3',
      port: 6432,
    })
  })

  it('keeps pg options of an object template and replaces its name, host and port', () => {
    expect(
      nodeConfigAt({ name: 'main', user: 'app', password: 'pw', host: 'h1', max: 4 }, 'pg2', 'h2', 5432),
    ).toEqual({
      name: 'pg2',
      user: 'app',
      password: 'pw',
      host: 'h2',
      port: 5432,
      max: 4,
    })
  })
})
