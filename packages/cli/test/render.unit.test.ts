import type { ClusterStatus, NodeStatus } from '@causeway/core'
import { describe, expect, it } from 'vitest'
import { toJson } from '../src/output/to-json.js'
import { LagHistory } from '../src/render/lag-history.js'
import { mirrorCheckReport, renderMirrorCheck } from '../src/render/mirror-comparison.js'
import { redraw, rowCount } from '../src/render/redraw.js'
import { answerRoute, renderRouteAnswer } from '../src/render/route-answer.js'
import { sparkline } from '../src/render/sparkline.js'
import { renderStatus } from '../src/render/status-table.js'
import { renderTable } from '../src/render/table.js'

function node(name: string, fields: Partial<NodeStatus> = {}): NodeStatus {
  return {
    name,
    role: 'replica',
    state: 'healthy',
    reason: undefined,
    lsn: '0/3000148',
    timeline: 1,
    upstream: 'pg1',
    lagBytes: 0,
    lagMillis: 0,
    lagging: false,
    replayPaused: false,
    draining: false,
    weight: 1,
    inFlight: 0,
    served: 0,
    failures: 0,
    probes: 1,
    ownStatements: 1,
    freshnessChecks: 0,
    freshnessMisses: 0,
    latencyMillis: 0.5,
    ...fields,
  }
}

function status(nodes: NodeStatus[], primary: string | null = 'pg1'): ClusterStatus {
  return {
    primary: primary ?? undefined,
    timeline: 1,
    systemId: '7412345678901234567',
    epoch: 0,
    failover: 'follow',
    nodes,
    fallbacks: {
      'no-replica': 0,
      'all-replicas-unhealthy': 0,
      'all-replicas-lagging': 0,
      'not-caught-up': 0,
      'capture-pending': 0,
    },
    readRetries: 0,
    misclassifiedWrites: 0,
    staleTokens: 0,
    replayWaits: 0,
    replayWaitsSatisfied: 0,
    mirrorWaits: 0,
    mirrorTimeouts: 0,
  }
}

const PRIMARY = node('pg1', {
  role: 'primary',
  upstream: undefined,
  lagBytes: undefined,
  lagMillis: undefined,
})

describe('renderTable', () => {
  it('aligns columns, numbers to the right, with no trailing spaces', () => {
    const lines = renderTable(
      [{ heading: 'NODE' }, { heading: 'LAG', align: 'right' }, { heading: 'NOTE' }],
      [
        ['pg2', '0', ''],
        ['pg3', '1024', 'lagging'],
      ],
    )
    expect(lines).toEqual(['NODE   LAG  NOTE', 'pg2      0', 'pg3   1024  lagging'])
  })
})

describe('renderStatus', () => {
  it('prints the headline and one row per node, a dash where there is no value', () => {
    const text = renderStatus(
      status([PRIMARY, node('pg2', { lagBytes: 2048, lagMillis: 12.6 }), node('pg3', { lagging: true })]),
    )
    expect(text).toBe(
      [
        'Primary pg1, timeline 1, epoch 0 (failover: follow)',
        'NODE  ROLE     STATE    TL  LSN        UPSTREAM  LAG BYTES  LAG MS  NOTE',
        'pg1   primary  healthy   1  0/3000148  -                 -       -',
        'pg2   replica  healthy   1  0/3000148  pg1            2048      13',
        'pg3   replica  healthy   1  0/3000148  pg1               0       0  lagging past maxLag',
        '',
      ].join('\n'),
    )
  })

  it('keeps a multi-line reason on its row, and says when no primary is known', () => {
    const text = renderStatus(
      status([node('pg1', { role: 'unknown', state: 'down', reason: 'connect failed\n  twice' })], null),
    )
    expect(text).toContain('Primary none (no writable node is known)')
    expect(text).toContain('connect failed twice')
    expect(text.split('\n')).toHaveLength(4)
  })

  it('adds the lag-over-time column that watch asks for', () => {
    const text = renderStatus(status([PRIMARY, node('pg2')]), {
      lagHeading: 'LAG OVER TIME',
      lagOverTime: (name) => (name === 'pg2' ? '▁▄█' : ''),
    })
    expect(text).toContain('LAG OVER TIME')
    expect(text).toMatch(/pg2 .* ▁▄█/)
  })
})

describe('sparkline and LagHistory', () => {
  it('scales bars to the largest sample, a gap for a missing one', () => {
    expect(sparkline([0, 1, 2, 4, 8, undefined, 0])).toBe('▁▂▃▅█ ▁')
    expect(sparkline([0, 0, 0])).toBe('▁▁▁')
    expect(sparkline([])).toBe('')
  })

  it('keeps the last samples per replica, padded on the left; the primary has none', () => {
    const history = new LagHistory(4)
    for (const lag of [0, 100, 200, 400, 800])
      history.record(status([PRIMARY, node('pg2', { lagBytes: lag })]))
    expect(history.sparkline('pg2')).toBe('▂▃▅█')
    expect(history.sparkline('pg1')).toBe('    ')
    history.record(status([PRIMARY, node('pg2', { state: 'down' }), node('pg4')]))
    expect(history.sparkline('pg2')).toBe('▃▅█ ')
    expect(history.sparkline('pg4')).toBe('   ▁')
  })
})

describe('redraw', () => {
  it('moves back over the last frame and clears below it; the first frame is printed as is', () => {
    expect(redraw(0, 'a\n')).toBe('a\n')
    expect(redraw(3, 'a\nb\n')).toBe('\u001b[3A\r\u001b[0Ja\nb\n')
  })

  it('counts wrapped lines as the rows they take', () => {
    expect(rowCount('ab\ncd\n', undefined)).toBe(2)
    expect(rowCount(`${'x'.repeat(25)}\n\nab\n`, 10)).toBe(5)
  })
})

describe('answerRoute', () => {
  const read = { intent: 'read', reason: 'plain read' } as const
  const write = { intent: 'write', reason: 'function nextval()' } as const

  it('a write goes to the primary, with the classifier’s reason', () => {
    const answer = answerRoute(write, status([PRIMARY, node('pg2')]))
    expect(answer).toMatchObject({
      intent: 'write',
      reason: 'function nextval()',
      target: 'primary',
      nodes: ['pg1'],
    })
    expect(renderRouteAnswer(answer)).toContain('target  primary: pg1\n')
  })

  it('unknown is routed like a write', () => {
    expect(answerRoute({ intent: 'unknown', reason: 'parse error' }, undefined)).toMatchObject({
      target: 'primary',
      nodes: [],
    })
  })

  it('a read goes to the eligible replicas: healthy, not draining, within maxLag', () => {
    const answer = answerRoute(
      read,
      status([
        PRIMARY,
        node('pg2'),
        node('pg3', { lagging: true }),
        node('pg4', { draining: true }),
        node('pg5', { state: 'suspect' }),
      ]),
    )
    expect(answer).toMatchObject({ target: 'replica', nodes: ['pg2'], fallback: undefined })
  })

  it('a read falls back to the primary, with core’s fallback reason', () => {
    expect(answerRoute(read, status([PRIMARY])).fallback).toBe('no-replica')
    expect(answerRoute(read, status([PRIMARY, node('pg2', { state: 'down' })])).fallback).toBe(
      'all-replicas-unhealthy',
    )
    expect(answerRoute(read, status([PRIMARY, node('pg2', { lagging: true })]))).toMatchObject({
      target: 'primary',
      nodes: ['pg1'],
      fallback: 'all-replicas-lagging',
    })
  })
})

describe('renderMirrorCheck', () => {
  const same = { primaryMd5: 'a', mirrorMd5: 'a', equal: true }
  const users = { table: 'users', primaryRows: 3, mirrorRows: 3, ...same }

  it('a row per table and a line saying the mirror matches', () => {
    const report = mirrorCheckReport('pg1', { mirror: 'pg9', equal: true, tables: [users] })
    expect(renderMirrorCheck(report)).toBe(
      'TABLE  PRIMARY ROWS  MIRROR ROWS  EQUAL  NOTE\n' +
        'users             3            3  yes\n' +
        'Mirror pg9 matches primary pg1: 1 table, every one equal\n',
    )
  })

  it('names the tables that differ, and why when the counts do not say', () => {
    const report = mirrorCheckReport('pg1', {
      mirror: 'pg9',
      equal: false,
      tables: [
        users,
        { table: 'orders', primaryRows: 2, mirrorRows: 2, primaryMd5: 'a', mirrorMd5: 'b', equal: false },
        { table: 'items', primaryRows: 5, mirrorRows: 4, primaryMd5: 'a', mirrorMd5: 'b', equal: false },
        {
          table: 'gone',
          primaryRows: 0,
          mirrorRows: undefined,
          primaryMd5: 'a',
          mirrorMd5: undefined,
          equal: false,
          error: 'no table\ngone',
        },
      ],
    })
    const lines = renderMirrorCheck(report).trimEnd().split('\n')
    expect(lines.slice(1, -1).map((line) => line.split(/\s{2,}/))).toEqual([
      ['users', '3', '3', 'yes'],
      ['orders', '2', '2', 'no', 'same row count, other contents'],
      ['items', '5', '4', 'no'],
      ['gone', '0', '-', 'no', 'no table gone'],
    ])
    expect(lines.at(-1)).toBe(
      'Mirror pg9 differs from primary pg1: 3 of 4 tables not equal (orders, items, gone)',
    )
  })

  it('says when there was nothing to compare', () => {
    const report = mirrorCheckReport('pg1', { mirror: 'pg9', equal: true, tables: [] })
    expect(renderMirrorCheck(report)).toBe(
      'Nothing to compare: primary pg1 has no tables outside the system schemas\n',
    )
  })

  it('the report gives every table an error key, null when it was read on both sides', () => {
    const report = mirrorCheckReport('pg1', { mirror: 'pg9', equal: true, tables: [users] })
    expect(JSON.parse(toJson(report))).toEqual({
      primary: 'pg1',
      mirror: 'pg9',
      equal: true,
      tables: [{ ...users, error: null }],
    })
  })
})
