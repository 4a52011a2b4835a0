import { loadavg } from 'node:os'
import { createMultiPrimary } from '@causeway/core'
import { startMultiPrimary, type TestCluster } from '@causeway/testing'
import type { WorkloadResult } from '../run/workload-result.js'
import { median, round, spread } from '../stats.js'
import type { Workload } from './workload.js'

/** Workers per turn: concurrent sessions, each writing then reading back. */
const CONCURRENCY = 4

/** What `multi-primary` measures, for `latest.json`. */
export interface MultiPrimaryFigures {
  /** Median read-back latency (ms) per round: in the other group, and in the write's own group. */
  readonly otherGroupMs: readonly number[]
  readonly originGroupMs: readonly number[]
  /** Per round, other-group median over origin-group median. Above 1: reading in the other group costs more. */
  readonly ratio: ReturnType<typeof spread>
  /** Of the other-group reads, the share served in the other group (the rest went back to the write's group). */
  readonly servedInOtherGroup: number
  /** Reads that missed the write just made: must be 0. */
  readonly stale: number
}

/**
 * Cross-group read-your-writes (issue 14): two groups (eu, us; a primary and a
 * replica each) linked both ways by logical replication, on a cluster of its
 * own. In each round, `CONCURRENCY` sessions insert a row in eu and read it back,
 * for one turn with the session's home in us (the read waits for the link, or
 * goes back to eu), and for one turn with the home in eu (today's
 * read-your-writes inside one group). Only the read is timed; the ratio is
 * taken within each round.
 */
export const multiPrimaryWorkload: Workload = {
  key: 'multi-primary',
  title: 'multi-primary: read back a write made in another group vs in the same group (c4, read latency)',
  contenders: [],
  run: async (context) => {
    const loadStart = round(loadavg()[0] ?? 0, 2)
    const rounds = context.quick ? 5 : 15
    const turnMillis = context.quick ? 200 : 300
    const multi = await startMultiPrimary({ names: ['eu', 'us'], replicas: 1 })
    const config = (group: TestCluster) => ({
      primary: { connectionString: group.primary.url, name: `${group.primary.name}-${group.primary.port}` },
      replicas: group.replicas.map((n) => ({ connectionString: n.url, name: `${n.name}-${n.port}` })),
    })
    const db = createMultiPrimary({
      groups: { eu: config(multi.groups.eu!), us: config(multi.groups.us!) },
      home: 'eu',
      links: multi.links,
      route: () => 'eu',
    })
    const usPorts = new Set(multi.groups.us!.nodes.map((n) => n.port))
    const other: number[] = []
    const origin: number[] = []
    let stale = 0
    let inOther = 0
    let otherReads = 0
    let seq = 0
    try {
      await multi.ddl('create table bench_multi (id bigint primary key, tag text)')
      await db.ready()
      const turn = async (home: 'eu' | 'us'): Promise<number> => {
        const latencies: number[] = []
        const end = performance.now() + turnMillis
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (performance.now() < end) {
              const id = ++seq
              await db.session(
                async () => {
                  await db.query('insert into bench_multi values ($1, $2)', [id, home])
                  const start = performance.now()
                  const { rows } = await db.query<{ port: number }>(
                    'select inet_server_port() as port from bench_multi where id = $1',
                    [id],
                  )
                  latencies.push(performance.now() - start)
                  if (rows.length !== 1) stale++
                  else if (home === 'us') {
                    otherReads++
                    if (usPorts.has(Number(rows[0]!.port))) inOther++
                  }
                },
                { home },
              )
            }
          }),
        )
        return median(latencies)
      }
      await turn('us')
      await turn('eu')
      for (let i = 0; i < rounds; i++) {
        // Alternate which turn goes first, so drift lands on both.
        if (i % 2 === 0) {
          other.push(await turn('us'))
          origin.push(await turn('eu'))
        } else {
          origin.push(await turn('eu'))
          other.push(await turn('us'))
        }
      }
    } finally {
      await db.close()
      await multi.close()
    }
    const ratios = other.map((value, i) => value / origin[i]!)
    const figures: MultiPrimaryFigures = {
      otherGroupMs: other.map((v) => round(v, 3)),
      originGroupMs: origin.map((v) => round(v, 3)),
      ratio: spread(ratios),
      servedInOtherGroup: otherReads === 0 ? 0 : round(inOther / otherReads, 3),
      stale,
    }
    context.log(
      `multi-primary: read in the other group / in the write's group: median ${figures.ratio.median.toFixed(2)}× ` +
        `(${figures.ratio.min.toFixed(2)}–${figures.ratio.max.toFixed(2)}); ${(figures.servedInOtherGroup * 100).toFixed(1)}% served in the other group; stale ${stale}`,
    )
    const result: WorkloadResult & { multiPrimary: MultiPrimaryFigures } = {
      key: 'multi-primary',
      title: multiPrimaryWorkload.title,
      concurrency: CONCURRENCY,
      repeats: rounds,
      phaseMillis: turnMillis,
      contenders: {},
      ratios: { 'other/origin': figures.ratio },
      p99Ratios: {},
      throughputRatios: {},
      cpuRatios: {},
      skipped: {},
      loadAverage: { start: loadStart, end: round(loadavg()[0] ?? 0, 2) },
      targets: [
        {
          target: 'multi-primary: 0 stale cross-group reads',
          status: stale === 0 ? 'PASS' : 'MISS',
          detail: `${stale} stale; ratio other/origin group ${figures.ratio.median.toFixed(2)}×, ${(figures.servedInOtherGroup * 100).toFixed(1)}% in the other group`,
        },
      ],
      multiPrimary: figures,
    }
    return result
  },
}
