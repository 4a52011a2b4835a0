import {
  type ClusterConfig,
  createMultiPrimary,
  type MultiPrimary,
  type MultiPrimaryEventName,
  type MultiPrimaryEvents,
} from '@causeway/core'
import { type MultiPrimaryTestCluster, startMultiPrimary, type TestCluster, waitFor } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let multi: MultiPrimaryTestCluster
let db: MultiPrimary
const events: { [E in MultiPrimaryEventName]?: MultiPrimaryEvents[E][] } = {}

const groupConfig = (cluster: TestCluster): ClusterConfig => ({
  primary: { connectionString: cluster.primary.url, name: `${cluster.primary.name}-${cluster.primary.port}` },
  replicas: cluster.replicas.map((node) => ({
    connectionString: node.url,
    name: `${node.name}-${node.port}`,
  })),
})

/** The group (and whether its primary) that owns a server port. */
function servedBy(port: number): { group: string; primary: boolean } {
  for (const name of multi.names) {
    const group = multi.groups[name]!
    const node = group.nodes.find((n) => n.port === Number(port))
    if (node) return { group: name, primary: node === group.primary }
  }
  throw new Error(`no node on port ${port}`)
}

function record<E extends MultiPrimaryEventName>(event: E): void {
  db.on(event, (payload) => {
    const list = (events[event] ?? []) as MultiPrimaryEvents[E][]
    list.push(payload)
    events[event] = list as never
  })
}

beforeAll(async () => {
  multi = await startMultiPrimary({ names: ['eu', 'us'], replicas: 1 })
  await multi.ddl('create table notes (id text primary key, body text)')
  await multi.ddl('create table clashes (id text primary key, body text)')
  db = createMultiPrimary({
    groups: { eu: groupConfig(multi.groups.eu!), us: groupConfig(multi.groups.us!) },
    home: 'eu',
    links: multi.links,
    // A session's key names the group that takes its writes.
    route: (_statement, session) => session.key,
    linkPollMillis: 200,
  })
  for (const event of ['link-broken', 'link-restored', 'link-conflict', 'cross-group-fallback'] as const)
    record(event)
  await db.ready()
})

afterAll(async () => {
  await db?.close()
  await multi?.close()
})

describe('multi-primary', () => {
  it('routes writes to the home group, and a routed write to its key’s group', async () => {
    const home = await db.query<{ port: number }>(
      `insert into notes values ('r-home', 'x') returning inet_server_port() as port`,
    )
    expect(servedBy(home.rows[0]!.port)).toEqual({ group: 'eu', primary: true })
    const routed = await db.session(
      () =>
        db.query<{ port: number }>(
          `insert into notes values ('r-us', 'x') returning inet_server_port() as port`,
        ),
      { key: 'us' },
    )
    expect(servedBy(routed.rows[0]!.port)).toEqual({ group: 'us', primary: true })
    const otherHome = await db.session(
      () =>
        db.query<{ port: number }>(
          `insert into notes values ('r-us-home', 'x') returning inet_server_port() as port`,
        ),
      { home: 'us' },
    )
    expect(servedBy(otherHome.rows[0]!.port)).toEqual({ group: 'us', primary: true })
  })

  it('reads its own write in the other group, never stale: 2,000 pairs over 8 sessions', async () => {
    const before = db.status().crossGroupReads
    const served = { home: 0, origin: 0, homeReplica: 0 }
    let stale = 0
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        const here = worker % 2 === 0 ? 'eu' : 'us'
        const there = here === 'eu' ? 'us' : 'eu'
        for (let i = 0; i < 250; i++) {
          const id = `p-${worker}-${i}`
          await db.session(
            async () => {
              await db.query('insert into notes values ($1, $2)', [id, here])
              const { rows } = await db.query<{ id: string; port: number }>(
                'select id, inet_server_port() as port from notes where id = $1',
                [id],
              )
              if (rows.length !== 1) {
                stale++
                return
              }
              const at = servedBy(rows[0]!.port)
              if (at.group === there) {
                served.home++
                if (!at.primary) served.homeReplica++
              } else served.origin++
            },
            { home: there, key: here },
          )
        }
      }),
    )
    const after = db.status().crossGroupReads
    console.log(
      `2000 cross-group pairs: stale ${stale}; answered in the other group ${served.home} (${served.homeReplica} on its replica), back in the write's group ${served.origin}`,
    )
    expect(stale).toBe(0)
    expect(served.home + served.origin).toBe(2000)
    expect(served.home).toBeGreaterThan(0)
    expect(after.home - before.home).toBe(served.home)
  })

  it('a paused link sends cross-group reads back to the group of the write, with events', async () => {
    await multi.pauseLink('eu', 'us')
    await waitFor(
      async () => db.status().links.find((l) => l.from === 'eu' && l.to === 'us')?.state === 'disabled',
      {
        what: 'the eu→us link to show as disabled',
        timeoutMillis: 10_000,
      },
    )
    expect(events['link-broken']?.some((e) => e.from === 'eu' && e.to === 'us')).toBe(true)
    const fallbacksBefore = events['cross-group-fallback']?.length ?? 0
    for (let i = 0; i < 50; i++) {
      const rows = await db.session(
        async () => {
          await db.query('insert into notes values ($1, $2)', [`paused-${i}`, 'eu'])
          return (
            await db.query<{ port: number }>('select inet_server_port() as port from notes where id = $1', [
              `paused-${i}`,
            ])
          ).rows
        },
        { home: 'us', key: 'eu' },
      )
      expect(rows).toHaveLength(1)
      expect(servedBy(rows[0]!.port).group).toBe('eu')
    }
    const fallbacks = (events['cross-group-fallback'] ?? []).slice(fallbacksBefore)
    expect(fallbacks).toHaveLength(50)
    expect(fallbacks.every((e) => e.reason === 'link-broken' && e.servedIn === 'eu' && e.home === 'us')).toBe(
      true,
    )
    await multi.resumeLink('eu', 'us')
    await waitFor(async () => events['link-restored']?.some((e) => e.from === 'eu' && e.to === 'us'), {
      what: 'link-restored',
      timeoutMillis: 10_000,
    })
  })

  it('shows a conflict (one key inserted in both groups) in status() and as an event', async () => {
    await multi.pauseLink('eu', 'us')
    await multi.pauseLink('us', 'eu')
    await multi.groups.us!.primary.query(`insert into clashes values ('k', 'us')`)
    await multi.groups.eu!.primary.query(`insert into clashes values ('k', 'eu')`)
    // Each link's worker now fails on the clash, and retries.
    await Promise.all([
      multi.resumeLink('eu', 'us').catch(() => {}),
      multi.resumeLink('us', 'eu').catch(() => {}),
    ])
    const link = await waitFor(
      async () => {
        const found = db.status().links.find((l) => l.from === 'eu' && l.to === 'us')
        return (found?.conflicts.insert_exists ?? 0) > 0 ? found : undefined
      },
      { what: 'the eu→us link to count an insert_exists conflict', timeoutMillis: 20_000 },
    )
    expect(link.conflicts.insert_exists).toBeGreaterThan(0)
    expect(
      events['link-conflict']?.some(
        (e) => e.from === 'eu' && e.to === 'us' && (e.conflicts.insert_exists ?? 0) > 0,
      ),
    ).toBe(true)
  })

  it('a group whose primary is killed leaves the other group serving its own writes and reads', async () => {
    await multi.groups.eu!.primary.kill()
    for (let i = 0; i < 20; i++) {
      const rows = await db.session(
        async () => {
          await db.query('insert into notes values ($1, $2)', [`alone-${i}`, 'us'])
          return (
            await db.query<{ port: number }>('select inet_server_port() as port from notes where id = $1', [
              `alone-${i}`,
            ])
          ).rows
        },
        { home: 'us' },
      )
      expect(rows).toHaveLength(1)
      expect(servedBy(rows[0]!.port).group).toBe('us')
    }
    await expect(db.query(`insert into notes values ('eu-dead', 'x')`)).rejects.toThrow()
  })
})
