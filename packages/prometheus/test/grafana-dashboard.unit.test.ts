import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { METRICS, type MetricName } from '../src/metric-names.js'

interface Target {
  readonly expr: string
}
interface Dashboard {
  // A row panel (a section header) has no targets.
  readonly panels: readonly { readonly title: string; readonly targets?: readonly Target[] }[]
  readonly templating: { readonly list: readonly { readonly definition?: string }[] }
}

const dashboard = JSON.parse(
  readFileSync(new URL('../grafana/causeway.json', import.meta.url), 'utf8'),
) as Dashboard

// Functions, aggregations and keywords of the PromQL the dashboard may use: every other identifier is a metric.
const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'by',
  'without',
  'rate',
  'irate',
  'increase',
  'delta',
  'label_values',
  'histogram_quantile',
  'topk',
  'bottomk',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'offset',
])

/** The metric names and label names one PromQL expression uses. */
function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = []
  // Label matchers: `{a="x", b=~"y"}`, then grouping: `by (a, b)`.
  let rest = expr.replace(/\{([^}]*)\}/g, (_, body: string) => {
    for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g))
      labels.push(m[1]!)
    return ' '
  })
  rest = rest.replace(/\b(?:by|without)\s*\(([^)]*)\)/g, (_, body: string) => {
    labels.push(...body.split(',').map((label) => label.trim()))
    return ' '
  })
  // Range selectors (`[$__rate_interval]`), strings and numbers carry no names.
  rest = rest.replace(/\[[^\]]*\]/g, ' ').replace(/"(?:[^"\\]|\\.)*"/g, ' ')
  // `label_values(metric, label)`: its second argument is a label.
  rest = rest.replace(
    /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g,
    (_, m, l) => {
      labels.push(l)
      return ` ${m} `
    },
  )
  const metrics = [...rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word))
  return { metrics, labels }
}

const exported = new Map(Object.entries(METRICS).map(([name, def]) => [`causeway_${name}`, def]))

const expressions = [
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
  ),
  ...dashboard.templating.list.flatMap((variable) =>
    variable.definition ? [{ where: 'templating', expr: variable.definition }] : [],
  ),
]

describe('the Grafana dashboard', () => {
  it('reads names out of PromQL', () => {
    expect(
      promqlNames(
        'sum by (node, intent) (rate(causeway_statements_total{cluster=~"$cluster", outcome="error"}[5m]))',
      ),
    ).toEqual({ metrics: ['causeway_statements_total'], labels: ['cluster', 'outcome', 'node', 'intent'] })
    expect(promqlNames('label_values(causeway_info, cluster)')).toEqual({
      metrics: ['causeway_info'],
      labels: ['cluster'],
    })
  })

  it('queries only metrics the adapter exports, by labels those metrics carry', () => {
    expect(expressions.length).toBeGreaterThan(10)
    for (const { where, expr } of expressions) {
      const { metrics, labels } = promqlNames(expr)
      expect(metrics.length, `${where}: ${expr}`).toBeGreaterThan(0)
      for (const metric of metrics) expect([...exported.keys()], `${where}: ${expr}`).toContain(metric)
      const carried = new Set(['cluster', ...metrics.flatMap((metric) => exported.get(metric)?.labels ?? [])])
      for (const label of labels) expect([...carried], `${where}: ${expr}`).toContain(label)
    }
  })

  it('has the panels the issue asks for', () => {
    const used = new Set(expressions.flatMap(({ expr }) => promqlNames(expr).metrics))
    const wanted: MetricName[] = [
      'statements_total',
      'fallbacks_total',
      'replica_lag_bytes',
      'replica_lag_seconds',
      'node_up',
      'in_flight',
      'failovers_total',
      'statement_mirror_state',
      'statement_mirror_backlog_statements',
      'statement_mirror_backlog_bytes',
      'statement_mirror_held_for_order',
      'statement_mirror_lag_seconds',
      'statement_mirror_applied_total',
      'statement_mirror_failed_total',
    ]
    for (const metric of wanted) expect(used).toContain(`causeway_${metric}`)
  })
})
