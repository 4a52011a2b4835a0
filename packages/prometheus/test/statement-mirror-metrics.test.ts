import { type Cluster, createCluster, type MirrorStatus } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerCausewayMetrics } from '../src/index.js'
import { eventually } from './support/eventually.js'
import { type Exposition, parseExposition, select } from './support/exposition.js'

// Every statement the test sends contains this word: it must never reach the exposition.
const MARKER = 'mirrortextmarker'
const TABLE = `${MARKER}_rows`

// A primary, and an independent server as its statement mirror.
let source: TestCluster
let target: TestCluster
let db: Cluster

beforeAll(async () => {
  ;[source, target] = await Promise.all([
    startCluster({ replicas: 0 }),
    startCluster({ replicas: 0, fromEnv: false }),
  ])
  // The mirror starts as a copy: the same table on both.
  for (const node of [source.primary, target.primary])
    await node.query(`create table ${TABLE} (id int primary key, body text not null, at timestamptz)`)
  db = createCluster({
    primary: { connectionString: source.primary.url, name: 'pg1' },
    // Every read is also sent to the mirror, so the sampled-read counters move.
    mirrors: [{ url: target.primary.url, name: 'shadow', reads: { sample: 1 }, gatherMillis: 0 }],
  })
  await db.ready()
})
afterAll(async () => {
  await db?.close()
  await Promise.allSettled([source?.close(), target?.close()])
})

const mirror = (): MirrorStatus => db.status().mirrors![0]!
const labels = { cluster: 'orders', mirror: 'shadow', mode: 'async', durable: 'false' }
let nextId = 1
const write = (sql = `insert into ${TABLE} (id, body) values ($1, $2)`) =>
  db.query(sql, [nextId++, `${MARKER} body`])

/**
 * Scrapes, and checks that no label, value or help text holds the mirror's URL,
 * its password or any statement, and that mirror series carry only their labels.
 */
async function scrape(registry: Registry): Promise<Exposition> {
  const text = await registry.metrics()
  const password = new URL(target.primary.url).password
  expect(password.length).toBeGreaterThan(0)
  expect(text).not.toContain(password)
  expect(text).not.toContain(MARKER)
  expect(text).not.toMatch(/postgres(ql)?:\/\/|insert |select /i)
  const exposition = parseExposition(text)
  for (const sample of exposition.samples) {
    if (!sample.name.startsWith('causeway_statement_mirror_')) continue
    const { state, ...rest } = sample.labels
    expect(rest).toEqual(labels)
    expect(state === undefined).toBe(sample.name !== 'causeway_statement_mirror_state')
  }
  return exposition
}

/** The value of the one series of `metric` for the mirror (and `extra` labels); fails on none or several. */
function value(exposition: Exposition, metric: string, extra: Record<string, string> = {}): number {
  const samples = select(exposition, `causeway_statement_mirror_${metric}`, { ...labels, ...extra })
  expect(samples, metric).toHaveLength(1)
  return samples[0]!.value
}

/** The `state` series: each state's value. */
function states(exposition: Exposition): Record<string, number> {
  const samples = select(exposition, 'causeway_statement_mirror_state', labels)
  return Object.fromEntries(samples.map((sample) => [sample.labels.state, sample.value]))
}

describe('@causeway/prometheus: statement mirrors', () => {
  it('exports a mirror’s state, backlog, lag and counts from status().mirrors, through an outage, with no password or SQL in any label', async () => {
    const registry = new Registry()
    const metrics = registerCausewayMetrics(db, { registry, name: 'orders' })
    try {
      for (let i = 0; i < 3; i++) await write()
      // A volatile function: mirrored, and counted as nondeterministic.
      await write(`insert into ${TABLE} (id, body, at) values ($1, $2, now())`)
      await db.query(`select count(*) as ${MARKER}_count from ${TABLE}`)
      await eventually(
        () => mirror().applied === 4 && mirror().backlogStatements === 0 && mirror().sampledReads === 1,
        'the writes to be mirrored and the read sampled',
      )
      const exposition = await scrape(registry)
      expect(value(exposition, 'applied_total')).toBe(4)
      expect(value(exposition, 'nondeterministic_total')).toBe(1)
      expect(value(exposition, 'failed_total')).toBe(0)
      expect(value(exposition, 'not_applied_total')).toBe(0)
      expect(value(exposition, 'sampled_reads_total')).toBe(1)
      expect(value(exposition, 'sampled_read_errors_total')).toBe(0)
      expect(value(exposition, 'backlog_statements')).toBe(0)
      expect(value(exposition, 'backlog_bytes')).toBe(0)
      expect(value(exposition, 'held_for_order')).toBe(0)
      expect(value(exposition, 'lag_seconds')).toBe(0)
      expect(states(exposition)).toEqual({ 'in-sync': 1, 'catching-up': 0, 'out-of-sync': 0 })
      expect(exposition.types.get('causeway_statement_mirror_applied_total')).toBe('counter')
      expect(exposition.types.get('causeway_statement_mirror_backlog_statements')).toBe('gauge')
      expect(exposition.types.get('causeway_statement_mirror_state')).toBe('gauge')

      // The mirror goes away: writes still commit, and queue up for it.
      await target.primary.stop()
      for (let i = 0; i < 2; i++) await write()
      await db.query(`select count(*) as ${MARKER}_count from ${TABLE}`)
      await eventually(
        () => mirror().state === 'catching-up' && mirror().sampledReadErrors === 1,
        'the mirror to be catching up and the sampled read to fail',
      )
      const outage = await scrape(registry)
      expect(states(outage)).toEqual({ 'in-sync': 0, 'catching-up': 1, 'out-of-sync': 0 })
      expect(value(outage, 'backlog_statements')).toBe(2)
      expect(value(outage, 'backlog_bytes')).toBeGreaterThan(0)
      expect(value(outage, 'lag_seconds')).toBeGreaterThan(0)
      expect(value(outage, 'failed_total')).toBeGreaterThan(0)
      expect(value(outage, 'applied_total')).toBe(4)
      expect(value(outage, 'sampled_read_errors_total')).toBe(1)

      // Back: the backlog drains in order, and the state series flips back.
      await target.primary.start()
      await eventually(
        () => mirror().state === 'in-sync' && mirror().backlogStatements === 0,
        'the mirror to catch up',
      )
      const back = await scrape(registry)
      expect(states(back)).toEqual({ 'in-sync': 1, 'catching-up': 0, 'out-of-sync': 0 })
      expect(value(back, 'applied_total')).toBe(6)
      expect(value(back, 'backlog_statements')).toBe(0)
      expect(value(back, 'backlog_bytes')).toBe(0)
      expect(value(back, 'lag_seconds')).toBe(0)
      // Counters never go back: the failures of the outage are still counted (and the retries since).
      expect(value(back, 'failed_total')).toBeGreaterThanOrEqual(value(outage, 'failed_total'))

      // A write the mirror rejects (its table exists only on the primary) stops the mirror.
      await source.primary.query(`create table ${MARKER}_primary_only (id int)`)
      await db.query(`insert into ${MARKER}_primary_only values (1)`)
      await eventually(() => mirror().state === 'out-of-sync', 'the mirror to go out of sync')
      const stopped = await scrape(registry)
      expect(states(stopped)).toEqual({ 'in-sync': 0, 'catching-up': 0, 'out-of-sync': 1 })
      expect(value(stopped, 'not_applied_total')).toBe(mirror().notApplied)
      expect(mirror().notApplied).toBeGreaterThan(0)
    } finally {
      metrics.unregister()
    }
  })
})
