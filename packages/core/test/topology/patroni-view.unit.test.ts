import { describe, expect, it } from 'vitest'
import { disagreement, LeaderAuthority } from '../../src/topology/leader-authority.js'
import { parsePatroniView, patroniEndpoint } from '../../src/topology/patroni-view.js'

// The body of GET /cluster as Patroni 3.0.2 answers it (trimmed).
const body = {
  members: [
    { name: 'pg1', role: 'leader', state: 'running', host: '10.0.0.1', port: 5432, timeline: 3 },
    {
      name: 'pg2',
      role: 'sync_standby',
      state: 'streaming',
      host: '10.0.0.2',
      port: 5432,
      timeline: 3,
      lag: 0,
    },
    { name: 'pg3', role: 'replica', state: 'running', host: '10.0.0.3', port: 5433, lag: 'unknown' },
  ],
  scope: 'demo',
}

const node = (name: string, host: string, port: number) => ({ name, endpoint: { host, port } })

describe('parsePatroniView', () => {
  it('reads members, their lag and the leader', () => {
    const view = parsePatroniView(body, 'http://x:8008')
    expect(view.leader?.name).toBe('pg1')
    expect(view.members.map((m) => [m.name, m.timeline, m.lagBytes])).toEqual([
      ['pg1', 3, undefined],
      ['pg2', 3, 0],
      ['pg3', undefined, undefined],
    ])
  })

  it("takes Patroni 2's 'master' as the leader, and a standby cluster's 'standby_leader' as none", () => {
    const old = { members: [{ name: 'a', role: 'master', host: 'h', port: 5432 }] }
    expect(parsePatroniView(old, 's').leader?.name).toBe('a')
    const standby = { members: [{ name: 'a', role: 'standby_leader', host: 'h', port: 5432 }] }
    expect(parsePatroniView(standby, 's').leader).toBeUndefined()
  })

  it('trusts no leader when two members claim the key', () => {
    const two = {
      members: [
        { name: 'a', role: 'leader', host: 'h1', port: 5432 },
        { name: 'b', role: 'leader', host: 'h2', port: 5432 },
      ],
    }
    expect(parsePatroniView(two, 's').leader).toBeUndefined()
  })

  it('names the field of a body that does not fit, without its value', () => {
    expect(() =>
      parsePatroniView({ members: [{ name: 'a', role: 'leader', host: 'h', port: 'x' }] }, 'http://p:8008'),
    ).toThrow(/GET http:\/\/p:8008\/cluster: unexpected body at members\.0\.port/)
    expect(() => parsePatroniView('<html>', 's')).toThrow(/unexpected body at top level/)
  })
})

describe('patroniEndpoint', () => {
  it('moves credentials out of the URL into a basic auth header', () => {
    const endpoint = patroniEndpoint('http://admin:s%40cret@pg1:8008/')
    expect(endpoint.url).toBe('http://pg1:8008')
    expect(endpoint.authorization).toBe(`Basic ${Buffer.from('admin:s@cret').toString('base64')}`)
    expect(patroniEndpoint('https://pg1:8008').authorization).toBeUndefined()
  })
})

describe('LeaderAuthority', () => {
  const nodes = [
    node('primary', '10.0.0.1', 5432),
    node('pg2', '10.0.0.9', 5432),
    node('r3', '10.0.0.3', 5433),
  ]
  const authority = new LeaderAuthority(() => nodes)

  it('is unknown without a view: the probes decide', () => {
    authority.update(undefined)
    expect(nodes.map((n) => authority.verdict(n))).toEqual(['unknown', 'unknown', 'unknown'])
  })

  it('matches members by name, else by host:port, and lets only the leader write', () => {
    authority.update(parsePatroniView(body, 's'))
    // primary matches pg1 by address, pg2 by name (its address differs), r3 matches pg3 by address.
    expect(nodes.map((n) => authority.memberOf(n)?.name)).toEqual(['pg1', 'pg2', 'pg3'])
    expect(nodes.map((n) => authority.verdict(n))).toEqual(['leader', 'not-leader', 'not-leader'])
    expect(authority.refusal(nodes[1]!)).toBe("writable, but Patroni's leader is pg1")
    expect(authority.refusal(nodes[0]!)).toBeUndefined()
  })

  it('lets nobody write while Patroni names no leader', () => {
    authority.update(parsePatroniView({ members: body.members.slice(1) }, 's'))
    expect(nodes.map((n) => authority.verdict(n))).toEqual(['not-leader', 'not-leader', 'not-leader'])
    expect(authority.refusal(nodes[0]!)).toMatch(/names no leader/)
  })

  it('leaves it to the probes when the leader matches no node', () => {
    const elsewhere = { members: [{ name: 'zz', role: 'leader', host: '10.9.9.9', port: 5432 }] }
    authority.update(parsePatroniView(elsewhere, 's'))
    expect(nodes.map((n) => authority.verdict(n))).toEqual(['unknown', 'unknown', 'unknown'])
  })
})

describe('disagreement', () => {
  const [leader, sync, replica] = parsePatroniView(body, 's').members as [never, never, never]
  it('is none while Patroni and the server agree, or before the first probe', () => {
    expect(disagreement(leader, { role: 'primary', timeline: 3 })).toBeUndefined()
    expect(disagreement(sync, { role: 'replica', timeline: 3 })).toBeUndefined()
    expect(disagreement(replica, { role: 'unknown', timeline: undefined })).toBeUndefined()
  })
  it('names what each says about role and timeline', () => {
    expect(disagreement(leader, { role: 'replica', timeline: 3 })).toEqual({
      patroni: 'leader',
      server: 'in recovery',
    })
    expect(disagreement(replica, { role: 'primary', timeline: 4 })).toEqual({
      patroni: 'replica',
      server: 'writable',
    })
    expect(disagreement(sync, { role: 'replica', timeline: 2 })).toEqual({
      patroni: 'timeline 3',
      server: 'timeline 2',
    })
  })
})
