// Nothing acknowledged is lost when `failover: 'auto'` meets a stall: the primary
// frozen (SIGSTOP of every process) for 5 s under 8 writers, then resumed (issue 15,
// item 1).
import { CausewayError, type ClusterEvents } from '@causeway/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from './support/fixture.js'
import { eventually, sleep } from './support/wait.js'

interface DB {
  acked: { id: string }
}

let f: Fixture<DB>

beforeAll(async () => {
  // Default health and failover timings: a 5 s stall is well past primaryDownMillis.
  f = await setupFixture<DB>({ config: { failover: 'auto', autoFailover: { singleProcess: true } } })
  await f.cluster.primary.query('create table acked (id text primary key)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe("failover: 'auto' and a frozen or killed primary", () => {
  // Regression: a replica was promoted about 100 ms after the old primary answered
  // again, and 13–23 writes the old primary acknowledged in that window were not on
  // the new primary, in every run: the returning primary took writes while the
  // failover was under way, and the re-probe under the lock was ignored.
  // Frozen 5 s, the primary answers the re-probe taken under the failover lock, and
  // the failover is called off; frozen 7 s, it does not, a replica is promoted while
  // writes hang on the old primary, and the old primary acknowledges them on thaw.
  // Then the primary of the moment is killed, and another replica is promoted.
  it.each([
    ['frozen for 5 s', 5_000],
    ['frozen for 7 s', 7_000],
    ['killed', -1],
  ] as const)('loses no acknowledged write when the primary is %s', async (_, freezeMillis) => {
    const events: string[] = []
    for (const name of [
      'failover-started',
      'failover-completed',
      'failover-cancelled',
      'failover-failed',
      'primary-changed',
    ] as const) {
      f.dialect.cluster.on(name, (e: ClusterEvents[typeof name]) =>
        events.push(`${name} ${JSON.stringify(e)}`),
      )
    }
    const acknowledged: { id: string; at: number }[] = []
    const errors: string[] = []
    let stop = false
    const writer = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const id = `${freezeMillis}-w${w}-${n}`
        try {
          await f.db.insertInto('acked').values({ id }).execute()
          acknowledged.push({ id, at: performance.now() })
        } catch (error) {
          errors.push(error instanceof CausewayError ? error.code : `unexpected: ${String(error)}`)
          await sleep(5)
        }
      }
    }
    const writers = Array.from({ length: 8 }, (_, w) => writer(w))
    await sleep(300)
    const victim = f.cluster.nodes.find((n) => n.name === f.dialect.cluster.status().primary)!
    const freezing = performance.now()
    if (freezeMillis < 0) await victim.kill()
    else await victim.freeze()
    const frozen = performance.now()
    if (freezeMillis > 0) {
      await sleep(freezeMillis)
      await victim.thaw()
    }
    const thawed = acknowledged.length
    try {
      await eventually(() => acknowledged.length > thawed + 200, 'writes to flow again', 20_000)
    } catch (error) {
      // Explains a failure: the errors, the failover events and the nodes' states.
      const nodes = f.dialect.cluster
        .status()
        .nodes.map((n) => [n.name, n.state, n.role, n.timeline, n.reason])
      throw new Error(
        `${(error as Error).message}\n${JSON.stringify({ errors: [...new Set(errors)], events, nodes })}`,
      )
    } finally {
      stop = true
      await Promise.all(writers)
    }

    const status = f.dialect.cluster.status()
    expect(status.primary).toBeDefined()
    const primary = f.cluster.nodes.find((n) => n.name === status.primary)!
    const present = new Set((await primary.query<{ id: string }>('select id from acked')).map((r) => r.id))
    // A commit the server acknowledged while it was being frozen or killed may not
    // have reached any replica: asynchronous replication's own window, the same at
    // any crash (README: "what auto failover promises"). Every other acknowledged
    // write must be on the primary the cluster ended with.
    const required = acknowledged.filter(({ at }) => at < freezing || at > frozen)
    const lost = required.filter(({ id }) => !present.has(id)).map(({ id }) => id)
    expect(lost, `events:\n${events.join('\n')}`).toEqual([])
    expect(required.length).toBeGreaterThan(200)
    // Only documented errors: writes waiting for a primary, and writes whose outcome
    // the failover made unknown (never retried for the app).
    for (const code of errors)
      expect(['NO_PRIMARY', 'WRITE_OUTCOME_UNKNOWN', 'NODE_UNAVAILABLE']).toContain(code)
    const promoted = events.some((e) => e.startsWith(`failover-completed {"from":"${victim.name}"`))
    const cancelled = events.some((e) => e.startsWith(`failover-cancelled {"from":"${victim.name}"`))
    if (!promoted) expect(status.primary).toBe(victim.name)
    if (cancelled && !promoted) expect(f.nodeStatus(victim.name).state).toBe('healthy')
    if (freezeMillis < 0) expect(promoted).toBe(true)
    expect(events.some((e) => e.startsWith('failover-failed'))).toBe(false)
  })
})
