import { type Cluster, createCluster } from '@causeway/core'
import { startCluster, type TestCluster } from '@causeway/testing'
import {
  AggregationTemporality,
  type HistogramMetricData,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { enableCausewayOtel } from '../src/index.js'

let cluster: TestCluster
let db: Cluster
let spans: InMemorySpanExporter
let metricExporter: InMemoryMetricExporter
let meterProvider: MeterProvider
let disable: () => void

beforeAll(async () => {
  cluster = await startCluster()
  await cluster.primary.query('create table notes (id serial primary key, body text not null)')
  db = createCluster({
    primary: { connectionString: cluster.primary.url, name: 'pg1' },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    consistency: { scope: 'session' },
  })
  await db.ready()
})
afterAll(async () => {
  await db?.close()
  await cluster?.close()
})

beforeEach(() => {
  spans = new InMemorySpanExporter()
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 600_000 })],
  })
  disable = enableCausewayOtel({
    tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    meterProvider,
    queryText: true,
  })
})
afterEach(async () => {
  disable()
  await meterProvider.shutdown()
})

async function durationPoints() {
  await meterProvider.forceFlush()
  const metric = metricExporter
    .getMetrics()
    .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
    .findLast((m) => m.descriptor.name === 'db.client.operation.duration') as HistogramMetricData | undefined
  return metric
}

describe('@causeway/otel', () => {
  it('makes a CLIENT span per app statement with the database conventions and the route, and no span for probes or captures', async () => {
    await db.session(async () => {
      await db.query(`insert into notes (body) values ($1)`, ['a'])
      await db.query('select body from notes')
      await db.token()
      await db.checkHealth()
    })
    await db.session(() => db.query('select count(*) from notes'))
    const finished = spans.getFinishedSpans()
    expect(finished.map((s) => s.name)).toEqual(['INSERT postgres', 'SELECT postgres', 'SELECT postgres'])
    const [insert, ryw, replica] = finished
    expect(insert!.kind).toBe(2) // SpanKind.CLIENT
    expect(insert!.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.namespace': 'postgres',
      'db.operation.name': 'INSERT',
      'db.query.text': 'insert into notes (body) values ($1)',
      'server.address': '127.0.0.1',
      'server.port': cluster.primary.port,
      'causeway.node.name': 'pg1',
      'causeway.node.role': 'primary',
      'causeway.route.reason': 'write',
      'db.response.returned_rows': 1,
    })
    expect(ryw!.attributes).toMatchObject({
      'causeway.node.name': 'pg1',
      'causeway.route.reason': 'capture-pending',
    })
    expect(replica!.attributes).toMatchObject({
      'causeway.node.role': 'replica',
      'causeway.route.reason': 'replica',
    })
    expect(JSON.stringify(finished.map((s) => s.attributes))).not.toContain(
      new URL(cluster.primary.url).password,
    )
  })

  it('marks a failed statement with error.type and its SQLSTATE, and records it in db.client.operation.duration', async () => {
    await expect(db.query('select * from no_such_table')).rejects.toThrow(/no_such_table/)
    await db.query(`insert into notes (body) values ('b')`)
    const [failed] = spans.getFinishedSpans()
    expect(failed!.status.code).toBe(2) // SpanStatusCode.ERROR
    expect(failed!.attributes).toMatchObject({ 'error.type': '42P01', 'db.response.status_code': '42P01' })
    const metric = await durationPoints()
    expect(metric?.descriptor.unit).toBe('s')
    const points = metric!.dataPoints
    expect(points).toHaveLength(2)
    const error = points.find((p) => p.attributes['error.type'] === '42P01')!
    expect(error.value.count).toBe(1)
    const write = points.find(
      (p) => p.attributes['causeway.route.reason'] === 'write' && !p.attributes['error.type'],
    )!
    expect(write.attributes).toMatchObject({ 'db.operation.name': 'INSERT', 'causeway.node.name': 'pg1' })
    // Seconds, not milliseconds: a loopback insert takes well under one.
    expect(write.value.sum).toBeGreaterThan(0)
    expect(write.value.sum).toBeLessThan(1)
    // Never the query text on a metric.
    for (const p of points) expect(p.attributes).not.toHaveProperty('db.query.text')
  })

  it('traces a synchronous mirroring wait, and stops once disabled', async () => {
    await db.session(() => db.query(`insert into notes (body) values ('m')`), {
      sync: { replicas: 'all', timeoutMillis: 10_000 },
    })
    const wait = spans.getFinishedSpans().find((s) => s.name === 'causeway replay-wait')
    expect(wait?.attributes).toMatchObject({
      'causeway.node.name': 'pg1',
      'causeway.replay.timed_out': false,
    })
    disable()
    spans.reset()
    await db.query('select 1')
    expect(spans.getFinishedSpans()).toEqual([])
  })
})
