import { Counter, Gauge, type Registry } from 'prom-client'
import type { ClusterSource } from './cluster-source.js'
import { METRICS, type MetricName } from './metric-names.js'
import { READERS } from './series.js'

/**
 * The adapter's metrics in one registry under one prefix, shared by every
 * cluster registered there. Each metric is rebuilt from the registered
 * clusters in its `collect()`, which prom-client calls at each scrape: nothing
 * runs between scrapes, and a cluster that leaves takes its series with it.
 */
export class MetricSet {
  /** Whether every series carries a `cluster` label (the first registration was named). */
  readonly named: boolean
  readonly #registry: Registry
  readonly #names: readonly string[]
  readonly #sources = new Set<ClusterSource>()

  constructor(registry: Registry, prefix: string, named: boolean) {
    this.named = named
    this.#registry = registry
    const sources = this.#sources
    const names: string[] = []
    for (const [metric, definition] of Object.entries(METRICS) as [
      MetricName,
      (typeof METRICS)[MetricName],
    ][]) {
      const read = READERS[metric]
      const labelNames = named ? ['cluster', ...definition.labels] : [...definition.labels]
      const name = `${prefix}${metric}`
      const config = { name, help: definition.help, labelNames, registers: [registry] }
      if (definition.type === 'counter') {
        new Counter({
          ...config,
          collect() {
            this.reset()
            for (const source of sources) {
              const status = source.status()
              for (const [labels, value] of read(source, status)) this.inc(withCluster(source, labels), value)
            }
          },
        })
      } else {
        new Gauge({
          ...config,
          collect() {
            this.reset()
            for (const source of sources) {
              const status = source.status()
              for (const [labels, value] of read(source, status)) this.set(withCluster(source, labels), value)
            }
          },
        })
      }
      names.push(name)
    }
    this.#names = names
  }

  /** The registered clusters' `cluster` labels. */
  get names(): ReadonlySet<string | undefined> {
    return new Set([...this.#sources].map((source) => source.name))
  }

  add(source: ClusterSource): void {
    this.#sources.add(source)
  }

  /** Removes a cluster; once none is left, removes the metrics from the registry. Returns whether it was the last. */
  delete(source: ClusterSource): boolean {
    this.#sources.delete(source)
    if (this.#sources.size > 0) return false
    for (const name of this.#names) this.#registry.removeSingleMetric(name)
    return true
  }
}

function withCluster(source: ClusterSource, labels: Record<string, string>): Record<string, string> {
  return source.name === undefined ? labels : { cluster: source.name, ...labels }
}
