import { CausewayError, type Cluster, createCluster } from '@causeway/core'
import { type PatroniCluster, patroniAvailable, startPatroniCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { titled } from '../support/proxies.js'
import { sleep, eventually as waitUntil } from '../support/wait.js'

// Causeway over a real Patroni cluster (etcd, PostgreSQL 15), in `failover: 'follow'`:
// Patroni decides who leads, and Causeway must write only where Patroni put the
// leader, promptly, without losing a write or serving a stale read.
const patroni = patroniAvailable()

/** Failures a client may see while the leader changes: nothing ran, or the outcome is unknown. */
const DOCUMENTED = new Set(['NODE_UNAVAILABLE', 'NO_PRIMARY', 'WRITE_OUTCOME_UNKNOWN'])

/** An acknowledged write: where and on which timeline it committed, and when. */
interface Write {
  readonly id: number
  readonly port: number
  readonly timeline: number
  readonly at: number
  readonly token: string | undefined
}

/** What one leader change looked like from the app's side. */
interface ChangeReport {
  readonly oldLeader: string
  readonly newLeader: string
  /** The change began (the switchover was requested, the leader killed). */
  readonly startedAt: number
  /** Patroni's `/cluster` first names the new leader, and first shows it `running`. */
  readonly reportedAt: number
  readonly runningAt: number
  /** The first write through Causeway that the new leader acknowledged. */
  readonly firstWriteAt: number
  /** Writes the old leader acknowledged after Patroni named the new one. */
  readonly writesToOldLeader: number
  /** Writes acknowledged after the change on a timeline other than the new leader's. */
  readonly writesOnOldTimeline: number
  readonly staleReads: number
  readonly reads: number
  readonly errors: readonly unknown[]
}

/**
 * How Causeway learns of a leader change: by its probes alone (every node listed,
 * probed every 100 ms), or with Patroni's REST API as a second source (only the
 * leader listed, the others discovered; probes at the default interval, and at
 * once when Patroni names a new leader).
 */
const MODES = [
  { mode: 'probes alone', patroniSource: false },
  { mode: 'with the Patroni REST source', patroniSource: true },
] as const

describe.skipIf(!patroni.ok).each(MODES)(
  titled("failover: 'follow' under Patroni with etcd, $mode", patroni),
  ({ patroniSource }) => {
    let cluster: PatroniCluster
    let causeway: Cluster
    const acknowledged: Write[] = []

    beforeAll(async () => {
      // Patroni's synchronous_mode: a commit waits for a standby, and only that standby
      // may be promoted, so a killed leader takes no acknowledged write with it
      // (asynchronous replication may, whoever follows the failover).
      cluster = await startPatroniCluster({ members: 3, synchronousMode: true })
      const leader = await cluster.leader()
      if (!leader) throw new Error('Patroni reports no leader')
      await leader.member.query('create table writes (id bigserial primary key, body text not null)')
      const primary = { connectionString: leader.member.url, name: leader.member.name }
      causeway = createCluster(
        patroniSource
          ? {
              primary,
              patroni: {
                urls: cluster.members.map((member) => member.restUrl),
                intervalMillis: 100,
                discover: true,
              },
            }
          : {
              primary,
              replicas: cluster.members
                .filter((member) => member !== leader.member)
                .map((member) => ({ connectionString: member.url, name: member.name })),
              failover: 'follow',
              health: { intervalMillis: 100 },
            },
      )
      await causeway.ready()
      if (patroniSource) {
        // Every member is a node now, named as Patroni names it, with Patroni's view of it.
        const members = cluster.members.map((member) => member.name).sort()
        await waitUntil(
          () => causeway.status().nodes.filter((node) => node.state === 'healthy').length === 3,
          'the discovered members to be healthy',
        )
        const nodes = causeway.status().nodes
        expect(nodes.map((node) => node.name).sort()).toEqual(members)
        expect(nodes.find((node) => node.name === leader.member.name)?.patroni?.role).toBe('leader')
        expect(causeway.status().patroni).toMatchObject({ reachable: true, leader: leader.member.name })
      }
    }, 120_000)
    afterAll(async () => {
      await causeway?.close()
      await cluster?.close()
    }, 60_000)

    /**
     * Runs 4 writer sessions (insert, then read it back in the same session) and a
     * reader that reads earlier writes with their tokens, across `change`, until
     * Causeway has written to the new leader for a while.
     */
    async function acrossLeaderChange(change: () => Promise<string>): Promise<ChangeReport> {
      const before = await cluster.leader()
      if (!before) throw new Error('Patroni reports no leader')
      const oldPort = before.member.pgPort
      const writes: Write[] = []
      const errors: unknown[] = []
      let staleReads = 0
      let reads = 0
      let stop = false

      const write = () =>
        causeway.session(async () => {
          const { rows } = await causeway.query<{ id: string; port: number; tli: string }>(
            `insert into writes (body) values ('load')
           returning id, inet_server_port() as port, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as tli`,
          )
          const row = rows[0]!
          const done: Write = {
            id: Number(row.id),
            port: row.port,
            timeline: Number.parseInt(row.tli, 16),
            at: Date.now(),
            token: await causeway.token(),
          }
          writes.push(done)
          reads++
          const read = await causeway.query('select id from writes where id = $1', [done.id])
          if (read.rowCount !== 1) staleReads++
        })
      const writer = async () => {
        while (!stop) {
          try {
            await write()
          } catch (error) {
            errors.push(error)
            await sleep(10)
          }
        }
      }
      // Sessions that wrote before the change, read again with their tokens throughout it.
      const reader = async () => {
        while (!stop) {
          const earlier = writes[Math.floor(Math.random() * writes.length)]
          if (!earlier?.token) {
            await sleep(5)
            continue
          }
          try {
            const read = await causeway.session(
              () => causeway.query('select id from writes where id = $1', [earlier.id]),
              { token: earlier.token },
            )
            reads++
            if (read.rowCount !== 1) staleReads++
          } catch (error) {
            errors.push(error)
            await sleep(10)
          }
        }
      }

      const loops = [...Array.from({ length: 4 }, writer), reader()]
      let startedAt = 0
      let reportedAt = 0
      let runningAt = 0
      let newLeader = ''
      try {
        await sleep(500)
        const watch = (async () => {
          while (!runningAt) {
            const now = await cluster.leader()
            if (now && now.member !== before.member) {
              reportedAt ||= Date.now()
              newLeader = now.member.name
              if (now.state === 'running') runningAt = Date.now()
            }
            await sleep(20)
          }
        })()
        startedAt = Date.now()
        const changed = change()
        await Promise.all([changed, watch])
        const newPort = cluster.member(newLeader).pgPort
        const deadline = Date.now() + 20_000
        while (writes.filter((w) => w.port === newPort).length < 50 && Date.now() < deadline) await sleep(50)
      } finally {
        stop = true
        await Promise.all(loops)
      }
      acknowledged.push(...writes)
      const newPort = cluster.member(newLeader).pgPort
      const onNew = writes.filter((w) => w.port === newPort)
      const newTimeline = Math.max(...onNew.map((w) => w.timeline))
      return {
        oldLeader: before.member.name,
        newLeader,
        startedAt,
        reportedAt,
        runningAt,
        firstWriteAt: Math.min(...onNew.map((w) => w.at)),
        writesToOldLeader: writes.filter((w) => w.port === oldPort && w.at > reportedAt).length,
        writesOnOldTimeline: writes.filter((w) => w.at > runningAt && w.timeline !== newTimeline).length,
        staleReads,
        reads,
        errors,
      }
    }

    function checkAndPrint(what: string, report: ChangeReport): void {
      const codes = report.errors.map((error) =>
        error instanceof CausewayError ? error.code : String((error as Error).message),
      )
      console.log(
        `${what}: ${report.oldLeader} → ${report.newLeader}; Patroni named it ${report.reportedAt - report.startedAt} ms ` +
          `after the change began, and showed it running ` +
          `${report.runningAt - report.reportedAt} ms later; first write through Causeway ` +
          `${report.firstWriteAt - report.reportedAt} ms after Patroni named it ` +
          `(${report.firstWriteAt - report.runningAt} ms after running); ` +
          `writes to the old leader after that: ${report.writesToOldLeader}; ` +
          `on the old timeline: ${report.writesOnOldTimeline}; stale reads: ${report.staleReads} of ${report.reads}; ` +
          `errors: ${codes.length} (${[...new Set(codes)].join(', ') || 'none'})`,
      )
      expect(report.staleReads).toBe(0)
      expect(report.writesToOldLeader).toBe(0)
      expect(report.writesOnOldTimeline).toBe(0)
      for (const error of report.errors) {
        expect(error).toBeInstanceOf(CausewayError)
        expect(DOCUMENTED).toContain((error as CausewayError).code)
      }
      // Loose: a 2-core machine shared with other test runs. The goal is ≤ 1 s.
      expect(report.firstWriteAt - report.reportedAt).toBeLessThan(5_000)
    }

    it('follows a Patroni switchover: writes go to the new leader, none to the demoted one, no stale read', async () => {
      const report = await acrossLeaderChange(() => cluster.switchover())
      checkAndPrint('switchover', report)
      // The old leader rejoins as a replica before the next change.
      await cluster.ready()
    })

    it('follows a Patroni failover after the leader is killed: no stale read, no acknowledged write lost', async () => {
      const report = await acrossLeaderChange(() => cluster.killLeader())
      checkAndPrint('killed leader', report)
      const leader = await cluster.leader()
      const ids = acknowledged.map((w) => w.id)
      const [{ found }] = (await leader!.member.query<{ found: number }>(
        'select count(*)::int as found from writes where id = any($1::bigint[])',
        [ids],
      )) as [{ found: number }]
      console.log(`acknowledged writes on the final leader ${leader!.member.name}: ${found} of ${ids.length}`)
      expect(found).toBe(ids.length)
    })

    // Patroni in maintenance mode, and someone runs pg_promote() on a replica: a
    // writable server on a newer timeline. By the probes alone that timeline wins
    // and writes move there (what this mode cannot know); with the REST source,
    // Patroni still holds the leader key for the leader, so writes stay with it.
    it(
      patroniSource
        ? 'keeps writing to the leader when a replica is promoted behind Patroni'
        : 'follows a replica promoted behind Patroni to its newer timeline (the REST source prevents this)',
      async () => {
        const killed = cluster.members.find((member) => !member.running)
        await killed?.start()
        await cluster.ready()
        const leader = (await cluster.leader())!.member
        const view = await cluster.view()
        const rogue = cluster.member(view!.members.find((m) => m.role === 'replica')!.name)
        const paused = await fetch(`${leader.restUrl}/config`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pause: true }),
        })
        expect(paused.ok).toBe(true)
        await rogue.query('select pg_promote()')
        const expected = patroniSource ? leader : rogue
        await waitUntil(() => causeway.status().primary === expected.name, `writes to go to ${expected.name}`)
        if (patroniSource) {
          // (Right after its restart the old leader may be fenced as behind on the
          // old timeline: wait for this reason, not just any fence.)
          await waitUntil(
            () =>
              causeway.status().nodes.find((node) => node.name === rogue.name)?.reason ===
              `writable, but Patroni's leader is ${leader.name}`,
            'the promoted replica to be fenced',
          )
          const rogueStatus = causeway.status().nodes.find((node) => node.name === rogue.name)!
          expect(rogueStatus.reason).toBe(`writable, but Patroni's leader is ${leader.name}`)
          expect(rogueStatus.role).toBe('primary')
        }
        for (let i = 0; i < 20; i++) {
          const { rows } = await causeway.query<{ port: number }>(
            `insert into writes (body) values ('paused') returning inet_server_port() as port`,
          )
          expect(rows[0]!.port).toBe(expected.pgPort)
        }
      },
    )
  },
)
