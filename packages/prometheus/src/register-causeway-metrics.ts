import { CausewayError } from '@causeway/core'
import { type Registry, register } from 'prom-client'
import { ClusterSource, type MeteredCluster } from './cluster-source.js'
import { MetricSet } from './metric-set.js'

/** Options of {@link registerCausewayMetrics}. */
export interface CausewayMetricsOptions {
  /** Default: prom-client's global registry (`register`). */
  readonly registry?: Registry
  /** Prepended to every metric name. Default `causeway_`. */
  readonly prefix?: string
  /**
   * The `cluster` label's value on every series. Needed to register several
   * clusters in one registry under one prefix: all of them then need distinct
   * names. Without it, series carry no `cluster` label.
   */
  readonly name?: string
}

/** What {@link registerCausewayMetrics} returns. */
export interface CausewayMetrics {
  /** Stops listening to the cluster and removes its series (the metrics too, once no cluster is left). Idempotent. */
  unregister(): void
}

/** Metric sets by registry, then by prefix: one per pair, shared by the clusters registered there. */
const sets = new WeakMap<Registry, Map<string, MetricSet>>()

/**
 * Exports a cluster's metrics to a prom-client registry: counters of app
 * statements (by node, role, intent and outcome), fallbacks by reason, read
 * retries, misclassified writes, stale tokens, mirroring waits and timeouts,
 * unproven reads and failovers; and gauges read from `cluster.status()` at each
 * scrape (node up, replica lag in bytes and seconds, in flight, epoch, timeline,
 * info). Each statement mirror of `status().mirrors` adds `statement_mirror_*`
 * series labelled by `mirror`, `mode` and `durable`: state, backlog, held-for-order
 * and lag gauges, and applied, failed, not-applied, nondeterministic and
 * sampled-read counters. No label ever holds statement text or a connection
 * string, and no timer is started.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { Registry } from 'prom-client'
 * import { registerCausewayMetrics } from '@causeway/prometheus'
 *
 * const registry = new Registry()
 * const metrics = registerCausewayMetrics(cluster, { registry })
 * createServer(async (req, res) => {
 *   res.setHeader('Content-Type', registry.contentType)
 *   res.end(await registry.metrics())
 * }).listen(9464)
 * // on shutdown
 * metrics.unregister()
 * ```
 */
export function registerCausewayMetrics(
  cluster: MeteredCluster,
  options: CausewayMetricsOptions = {},
): CausewayMetrics {
  const registry = options.registry ?? register
  const prefix = options.prefix ?? 'causeway_'
  const name = options.name
  if (name !== undefined && name.length === 0)
    throw new CausewayError('CONFIG_INVALID', 'metrics: `name` is empty')
  let byPrefix = sets.get(registry)
  if (!byPrefix) {
    byPrefix = new Map()
    sets.set(registry, byPrefix)
  }
  let set = byPrefix.get(prefix)
  if (set) {
    if (!set.named || name === undefined)
      throw new CausewayError(
        'CONFIG_INVALID',
        `metrics: a cluster is already registered under the prefix ${prefix} in this registry; ` +
          'give every cluster a distinct `name` (the `cluster` label), or use one registry per cluster',
      )
    if (set.names.has(name))
      throw new CausewayError('CONFIG_INVALID', `metrics: a cluster named ${name} is already registered`)
  } else {
    set = new MetricSet(registry, prefix, name !== undefined)
    byPrefix.set(prefix, set)
  }
  const source = new ClusterSource(cluster, name)
  set.add(source)
  const owner = set
  let registered = true
  return {
    unregister() {
      if (!registered) return
      registered = false
      source.close()
      if (owner.delete(source)) byPrefix.delete(prefix)
    },
  }
}
