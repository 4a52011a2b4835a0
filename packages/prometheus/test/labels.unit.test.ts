import type { ClusterStatus, MirrorStatus } from '@causeway/core'
import { describe, expect, it } from 'vitest'
import {
  infoLabels,
  MIRROR_STATES,
  millisToSeconds,
  mirrorInState,
  mirrorLabels,
  nodeUp,
  statementLabels,
} from '../src/labels.js'
import { METRICS } from '../src/metric-names.js'
import { parseExposition } from './support/exposition.js'

describe('label mapping', () => {
  it('labels a statement by node, role, intent and outcome, and never by its text or error message', () => {
    const ok = statementLabels({
      node: 'pg2',
      role: 'replica',
      intent: 'read',
      statement: "select * from users where email = 'alice@example.com'",
      durationMillis: 3.2,
    })
    expect(ok).toEqual({ node: 'pg2', role: 'replica', intent: 'read', outcome: 'ok' })
    const failed = statementLabels({
      node: 'pg1',
      role: 'primary',
      intent: 'write',
      statement: 'insert into t values (1)',
      durationMillis: 1,
      error: 'duplicate key value violates unique constraint "t_pkey"',
    })
    expect(failed).toEqual({ node: 'pg1', role: 'primary', intent: 'write', outcome: 'error' })
    expect(JSON.stringify([ok, failed])).not.toMatch(/select|insert|alice|duplicate/)
  })

  it('counts only a healthy node as up', () => {
    expect(nodeUp('healthy')).toBe(1)
    for (const state of ['suspect', 'down', 'fenced', 'unverified'] as const) expect(nodeUp(state)).toBe(0)
  })

  it('gives info an empty system id until the primary has answered', () => {
    const status = { systemId: undefined, failover: 'follow' } as unknown as ClusterStatus
    expect(infoLabels(status)).toEqual({ system_id: '', failover: 'follow' })
    expect(infoLabels({ ...status, systemId: '7412', failover: 'auto' })).toEqual({
      system_id: '7412',
      failover: 'auto',
    })
  })

  it('reports lag in seconds, the Prometheus base unit', () => {
    expect(millisToSeconds(1500)).toBe(1.5)
  })

  it('labels a mirror by name, mode and durability only: never its last error, and 1 for its state alone', () => {
    const mirror = {
      name: 'pg19',
      mode: 'sync',
      durable: false,
      state: 'catching-up',
      lastError: "connect ECONNREFUSED for insert into users values ('alice@example.com')",
    } as MirrorStatus
    expect(mirrorLabels(mirror)).toEqual({ mirror: 'pg19', mode: 'sync', durable: 'false' })
    expect(mirrorLabels({ ...mirror, mode: 'async', durable: true })).toEqual({
      mirror: 'pg19',
      mode: 'async',
      durable: 'true',
    })
    expect(MIRROR_STATES).toEqual(['in-sync', 'catching-up', 'out-of-sync'])
    expect(MIRROR_STATES.map((state) => mirrorInState(mirror, state))).toEqual([0, 1, 0])
  })

  it('declares only bounded labels: no statement, query, sql or error label on any metric', () => {
    for (const [name, definition] of Object.entries(METRICS)) {
      for (const label of definition.labels)
        expect(
          [
            'node',
            'role',
            'intent',
            'outcome',
            'reason',
            'system_id',
            'failover',
            'mirror',
            'mode',
            'durable',
            'state',
          ],
          name,
        ).toContain(label)
    }
  })
})

describe('the test exposition parser', () => {
  it('reads names, escaped label values and values, and rejects a malformed line', () => {
    const parsed = parseExposition(
      [
        '# HELP a_total Things.',
        '# TYPE a_total counter',
        'a_total{node="pg\\"1",role="replica"} 3',
        'b 0.25',
        '',
      ].join('\n'),
    )
    expect(parsed.types.get('a_total')).toBe('counter')
    expect(parsed.samples).toEqual([
      { name: 'a_total', labels: { node: 'pg"1', role: 'replica' }, value: 3 },
      { name: 'b', labels: {}, value: 0.25 },
    ])
    expect(() => parseExposition('a_total{node=pg1} 3')).toThrow(/bad labels/)
    expect(() => parseExposition('not a sample')).toThrow(/not a sample/)
  })
})
