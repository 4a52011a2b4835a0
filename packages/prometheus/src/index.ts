export type { FailoverOutcome, MeteredCluster } from './cluster-source.js'
export { nodeUp, type StatementLabels, statementLabels } from './labels.js'
export { METRICS, type MetricDefinition, type MetricName, metricNames } from './metric-names.js'
export {
  type CausewayMetrics,
  type CausewayMetricsOptions,
  registerCausewayMetrics,
} from './register-causeway-metrics.js'
