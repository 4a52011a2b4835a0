import { type Cluster, createCluster } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MeteredCluster, metricNames, registerCausewayMetrics } from '../src/index.js'
import { type Exposition, parseExposition, select, total } from './support/exposition.js'

// Every statement the tests send contains this word: it must never reach the exposition.
const MARKER = 'sqltextmarker'

let cluster: TestCluster
let main: Cluster
let solo: Cluster

beforeAll(async () => {
  cluster = await startCluster()
  await cluster.primary.query(`create table ${MARKER}_notes (id serial primary key, body text not null)`)
  main = createCluster({
    primary: { connectionString: cluster.primary.url, name: 'pg1' },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    // Reads outside a session carry no token, so they go to a replica whatever the capture timing.
    consistency: { scope: 'session' },
  })
  // The same server as a second cluster with no replica: its every read is a fallback.
  solo = createCluster({ primary: { connectionString: cluster.primary.url, name: 'solo1' } })
  await Promise.all([main.ready(), solo.ready()])
})
afterAll(async () => {
  await main?.close()
  await solo?.close()
  await cluster?.close()
})

async function scrape(registry: Registry): Promise<{ text: string; exposition: Exposition }> {
  const text = await registry.metrics()
  return { text, exposition: parseExposition(text) }
}

describe('@causeway/prometheus', () => {
  it('counts statements by node, role, intent and outcome, with no SQL text anywhere in the exposition', async () => {
    const registry = new Registry()
    const metrics = registerCausewayMetrics(main, { registry })
    try {
      const before = (await scrape(registry)).exposition
      for (const body of ['a', 'b', 'c'])
        await main.query(`insert into ${MARKER}_notes (body) values ($1)`, [`${MARKER} ${body}`])
      for (let i = 0; i < 4; i++) await main.query(`select body as ${MARKER}_body from ${MARKER}_notes`)
      await expect(main.query(`select * from ${MARKER}_missing_table`)).rejects.toMatchObject({
        code: '42P01',
      })
      const { text, exposition } = await scrape(registry)

      const delta = (labels: Record<string, string>) =>
        total(exposition, 'causeway_statements_total', labels) -
        total(before, 'causeway_statements_total', labels)
      expect(delta({ node: 'pg1', role: 'primary', intent: 'write', outcome: 'ok' })).toBe(3)
      expect(delta({ intent: 'read', outcome: 'ok' })).toBe(4)
      expect(delta({ role: 'replica', intent: 'read', outcome: 'ok' })).toBe(4)
      expect(delta({ intent: 'read', outcome: 'error' })).toBe(1)
      expect(delta({ intent: 'write', outcome: 'error' })).toBe(0)
      for (const sample of select(exposition, 'causeway_statements_total')) {
        expect(Object.keys(sample.labels).sort()).toEqual(['intent', 'node', 'outcome', 'role'])
        expect(['pg1', ...cluster.replicas.map((node) => node.name)]).toContain(sample.labels.node)
      }

      // Neither the statements, their parameters nor the error's message (which names the table).
      expect(text).not.toContain(MARKER)
      expect(text).not.toMatch(/select |insert |missing_table|does not exist/i)
      expect(exposition.types.get('causeway_statements_total')).toBe('counter')
    } finally {
      metrics.unregister()
    }
  })

  it('computes the gauges from status() at scrape time: node up, lag, in flight, epoch, timeline, info', async () => {
    const registry = new Registry()
    const metrics = registerCausewayMetrics(main, { registry, prefix: 'app_causeway_' })
    try {
      const { exposition } = await scrape(registry)
      const status = main.status()
      expect(new Set(exposition.types.keys())).toEqual(new Set(metricNames('app_causeway_')))
      for (const node of status.nodes) {
        expect(select(exposition, 'app_causeway_node_up', { node: node.name, role: node.role })).toEqual([
          expect.objectContaining({ value: node.state === 'healthy' ? 1 : 0 }),
        ])
        expect(total(exposition, 'app_causeway_in_flight', { node: node.name })).toBe(0)
      }
      expect(total(exposition, 'app_causeway_node_up', { node: 'pg1', role: 'primary' })).toBe(1)
      const replicas = cluster.replicas.map((node) => node.name)
      expect(
        select(exposition, 'app_causeway_replica_lag_bytes')
          .map((s) => s.labels.node)
          .sort(),
      ).toEqual([...replicas].sort())
      for (const sample of select(exposition, 'app_causeway_replica_lag_seconds')) {
        const lagMillis = status.nodes.find((node) => node.name === sample.labels.node)?.lagMillis
        expect(sample.value).toBeGreaterThanOrEqual(0)
        expect(lagMillis).toBeDefined()
      }
      expect(total(exposition, 'app_causeway_epoch')).toBe(status.epoch)
      expect(total(exposition, 'app_causeway_timeline')).toBe(status.timeline)
      expect(status.systemId).toMatch(/^\d+$/)
      expect(select(exposition, 'app_causeway_info')).toEqual([
        {
          name: 'app_causeway_info',
          labels: { system_id: status.systemId, failover: status.failover },
          value: 1,
        },
      ])
      expect(exposition.types.get('app_causeway_node_up')).toBe('gauge')

      // A statement holds its node's in-flight count while it runs: seen by a scrape taken meanwhile.
      const sleeping = main.query('select pg_sleep(1)')
      while (main.status().nodes.every((node) => node.inFlight === 0))
        await new Promise((r) => setTimeout(r, 5))
      const during = (await scrape(registry)).exposition
      await sleeping
      expect(total(during, 'app_causeway_in_flight')).toBe(1)
    } finally {
      metrics.unregister()
    }
  })

  it('tells clusters apart by a `cluster` label in one registry, counts fallbacks by reason, and unregisters each', async () => {
    const registry = new Registry()
    let listening = 0
    // The real cluster, with its event subscriptions counted.
    const counted = (db: Cluster): MeteredCluster => ({
      status: () => db.status(),
      on: ((event: Parameters<Cluster['on']>[0], listener: Parameters<Cluster['on']>[1]) => {
        listening++
        const stop = db.on(event, listener)
        return () => {
          listening--
          stop()
        }
      }) as Cluster['on'],
    })
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const timersBefore = timers()
    const forMain = registerCausewayMetrics(counted(main), { registry, name: 'main' })
    const forSolo = registerCausewayMetrics(counted(solo), { registry, name: 'solo' })
    expect(timers()).toBe(timersBefore)
    expect(listening).toBeGreaterThan(0)
    expect(() => registerCausewayMetrics(solo, { registry, name: 'solo' })).toThrow(/already registered/)
    expect(() => registerCausewayMetrics(solo, { registry })).toThrow(/distinct `name`/)

    const before = (await scrape(registry)).exposition
    for (let i = 0; i < 3; i++) await solo.query(`select 1 as ${MARKER}`)
    await main.query(`select 2 as ${MARKER}`)
    const { text, exposition } = await scrape(registry)
    const delta = (name: string, labels: Record<string, string>) =>
      total(exposition, name, labels) - total(before, name, labels)

    expect(delta('causeway_fallbacks_total', { cluster: 'solo', reason: 'no-replica' })).toBe(3)
    expect(delta('causeway_fallbacks_total', { cluster: 'main' })).toBe(0)
    expect(
      delta('causeway_statements_total', { cluster: 'solo', node: 'solo1', role: 'primary', intent: 'read' }),
    ).toBe(3)
    expect(delta('causeway_statements_total', { cluster: 'main', node: 'solo1' })).toBe(0)
    expect(delta('causeway_statements_total', { cluster: 'main', intent: 'read' })).toBe(1)
    // Every reason of every cluster has a series from the start, so rate() works at once.
    expect(select(exposition, 'causeway_fallbacks_total', { cluster: 'main' })).toHaveLength(5)
    expect(
      select(exposition, 'causeway_failovers_total', { cluster: 'solo' })
        .map((s) => s.labels.outcome)
        .sort(),
    ).toEqual(['cancelled', 'completed', 'failed'])
    for (const sample of exposition.samples) expect(['main', 'solo']).toContain(sample.labels.cluster)
    expect(text).not.toContain(MARKER)

    forSolo.unregister()
    const afterSolo = (await scrape(registry)).exposition
    expect(afterSolo.samples.some((s) => s.labels.cluster === 'solo')).toBe(false)
    expect(afterSolo.samples.some((s) => s.labels.cluster === 'main')).toBe(true)
    forMain.unregister()
    forMain.unregister()
    expect(listening).toBe(0)
    expect((await registry.metrics()).trim()).toBe('')
    expect(registry.getSingleMetric('causeway_statements_total')).toBeUndefined()

    // The registry is free again: an unnamed cluster may take it.
    registerCausewayMetrics(solo, { registry }).unregister()
  })
})
