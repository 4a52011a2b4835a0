import { type PatroniCluster, patroniAvailable, startPatroniCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { titled } from '../support/proxies.js'
import { eventually } from '../support/wait.js'
import { WriterFleet } from '../support/writer-fleet.js'

// 3 real app processes in `failover: 'follow'` over a Patroni cluster whose leader
// is killed: Patroni promotes, and every process follows to the one new leader.
// No acknowledged write is lost because Patroni runs in synchronous mode: a commit
// waits for the synchronous standby (synchronous_standby_names), and only that
// standby may be promoted. Causeway's own `sync` is not used here.
const patroni = patroniAvailable()

describe.skipIf(!patroni.ok)(titled("3 app processes in 'follow' under Patroni with etcd", patroni), () => {
  let cluster: PatroniCluster
  let fleet: WriterFleet | undefined

  beforeAll(async () => {
    cluster = await startPatroniCluster({ members: 3, synchronousMode: true })
    const leader = await cluster.leader()
    if (!leader) throw new Error('Patroni reports no leader')
    await leader.member.query('create table writes (id text primary key)')
  }, 120_000)
  afterAll(async () => {
    await fleet?.kill()
    await cluster?.close()
  }, 60_000)

  it('every process follows the killed leader to the one new leader; no acknowledged write is lost', async () => {
    const started = Date.now()
    const leader = await cluster.leader()
    if (!leader) throw new Error('Patroni reports no leader')
    const nodes = [leader.member, ...cluster.members.filter((m) => m !== leader.member)]
    fleet = new WriterFleet(
      3,
      nodes.map((m) => ({ name: m.name, url: m.url })),
      { FAILOVER: 'follow' },
    )
    await fleet.writing()
    const killedAt = Date.now()
    await cluster.killLeader()
    let newLeader = ''
    await eventually(
      async () => {
        const now = await cluster.leader()
        if (now && now.member !== leader.member && now.state === 'running') newLeader = now.member.name
        return newLeader !== ''
      },
      'Patroni to name a running new leader',
      60_000,
    )
    const promoted = cluster.member(newLeader)
    await fleet.writingTo(promoted.pgPort)
    const followedAt = Date.now()
    const ended = await fleet.stop()
    for (const line of ended) expect(line.primary).toBe(promoted.name)

    const ids = fleet.acknowledged()
    const [{ found }] = (await promoted.query<{ found: number }>(
      'select count(*)::int as found from writes where id = any($1::text[])',
      [ids],
    )) as [{ found: number }]
    console.log(
      `3 processes followed Patroni from ${leader.member.name} to ${promoted.name}: every one writing ` +
        `there ${followedAt - killedAt} ms after the kill; acknowledged writes on it: ${found} of ${ids.length}; ` +
        `test ${Date.now() - started} ms`,
    )
    expect(found).toBe(ids.length)
  })
})
