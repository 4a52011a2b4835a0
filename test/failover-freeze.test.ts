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
  f = await setupFixture<DB>({ config: { failover: 'auto' } })
  await f.cluster.primary.query('create table acked (id text primary key)')
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe("failover: 'auto' and a frozen primary", () => {
  // Regression: a replica was promoted about 100 ms after the old primary answered
  // again, and 13–23 writes the old primary acknowledged in that window were not on
  // the new primary, in every run: the returning primary took writes while the
  // failover was under way, and the re-probe under the lock was ignored.
  // Frozen 5 s, the primary answers the re-probe taken under the failover lock, and
  // the failover is called off; frozen 7 s, it does not, a replica is promoted while
  // writes hang on the old primary, and the old primary acknowledges them on thaw.
  it.each([5_000, 7_000])('loses no acknowledged write when frozen for %i ms', async (freezeMillis) => {
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
          expect(error).toBeInstanceOf(CausewayError)
          errors.push((error as CausewayError).code)
          await sleep(5)
        }
      }
    }
    const writers = Array.from({ length: 8 }, (_, w) => writer(w))
    await sleep(300)
    const freezing = performance.now()
    await f.cluster.primary.freeze()
    const frozen = performance.now()
    await sleep(freezeMillis)
    await f.cluster.primary.thaw()
    const thawed = acknowledged.length
    await eventually(() => acknowledged.length > thawed + 200, 'writes to flow again after the thaw', 20_000)
    stop = true
    await Promise.all(writers)

    const status = f.dialect.cluster.status()
    expect(status.primary).toBeDefined()
    const primary = f.cluster.nodes.find((n) => n.name === status.primary)!
    const present = new Set((await primary.query<{ id: string }>('select id from acked')).map((r) => r.id))
    // A commit the server acknowledged while it was being frozen may not have reached
    // any replica: that is asynchronous replication's own window, the same as at a
    // crash (README: "what auto failover promises"). Every other acknowledged write
    // must be on the primary the cluster ended with.
    const required = acknowledged.filter(({ at }) => at < freezing || at > frozen)
    const lost = required.filter(({ id }) => !present.has(id)).map(({ id }) => id)
    expect(lost, `events:\n${events.join('\n')}`).toEqual([])
    expect(required.length).toBeGreaterThan(200)
    // Only documented errors: writes waiting for a primary, and writes whose outcome
    // the failover made unknown (never retried for the app).
    for (const code of errors)
      expect(['NO_PRIMARY', 'WRITE_OUTCOME_UNKNOWN', 'NODE_UNAVAILABLE']).toContain(code)
    const promoted = events.some((e) => e.startsWith('failover-completed'))
    const cancelled = events.some((e) => e.startsWith('failover-cancelled'))
    if (!promoted) expect(status.primary).toBe('pg1')
    if (cancelled && !promoted) expect(f.nodeStatus('pg1').state).toBe('healthy')
    expect(events.some((e) => e.startsWith('failover-failed'))).toBe(false)
  })
})
