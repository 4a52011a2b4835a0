import { type Availability, findProgram, programAvailability, unavailableReason } from './availability.js'
import { HarnessError } from './harness-error.js'
import { startProxy } from './proxy-process.js'
import type { Backend, RunningProxy } from './running-proxy.js'

/** Options of {@link startHaproxy}. */
export interface StartHaproxyOptions {
  /** The servers to spread connections over, in order. At least one. */
  readonly backends: readonly Backend[]
  /** HAProxy's `balance` algorithm. Default `'roundrobin'`: each new connection goes to the next server. */
  readonly balance?: 'roundrobin' | 'leastconn'
  /** How long HAProxy may take to listen. Default 10,000 ms. */
  readonly startTimeoutMillis?: number
}

/**
 * Whether Debian's `haproxy` is installed here; when not, the reason, for a test
 * to report as it skips.
 */
export function haproxyAvailable(): Availability {
  return programAvailability('haproxy', 'haproxy', ['-v'])
}

/**
 * Starts HAProxy in TCP mode in front of `backends`: one address for several
 * servers, like a cloud reader endpoint or a Kubernetes Service. Each client
 * connection is balanced on its own, so the connections of one pool reach
 * different servers. There are no health checks; a connection refused by a server
 * is retried on the next one (`option redispatch`).
 *
 * @example
 * await using balancer = await startHaproxy({
 *   backends: cluster.replicas.map((node) => backendOf(node.url)),
 * })
 * const replicaUrl = balancer.urlFor(cluster.replicas[0].url)
 */
export async function startHaproxy(options: StartHaproxyOptions): Promise<RunningProxy> {
  if (options.backends.length === 0)
    throw new RangeError('startHaproxy: backends must name at least one server')
  const program = findProgram('haproxy')
  if (!program) throw new HarnessError(`startHaproxy: ${unavailableReason(haproxyAvailable())}`)
  return startProxy({
    name: 'haproxy',
    program,
    // HAProxy needs no privilege to bind a high port; it may run as the caller.
    user: undefined,
    // In the foreground (-db), SIGTERM is its hard stop: connections are closed at once.
    stopSignal: 'SIGTERM',
    startTimeoutMillis: options.startTimeoutMillis ?? 10_000,
    prepare: (dir, port) => ({
      files: { 'haproxy.cfg': renderConfig(port, options) },
      args: ['-f', `${dir}/haproxy.cfg`, '-db'],
    }),
  })
}

function renderConfig(port: number, options: StartHaproxyOptions): string {
  const servers = options.backends.map(({ host, port }, i) => `  server b${i + 1} ${host}:${port}`)
  return [
    'global',
    // One thread is plenty for tests, on a 2-core machine shared with the servers.
    '  nbthread 1',
    '  maxconn 1000',
    'defaults',
    '  mode tcp',
    '  retries 2',
    '  option redispatch',
    '  timeout connect 2s',
    // Pooled connections idle for long stretches; the proxy must not cut them.
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend postgres',
    `  bind 127.0.0.1:${port}`,
    '  default_backend servers',
    'backend servers',
    `  balance ${options.balance ?? 'roundrobin'}`,
    ...servers,
    '',
  ].join('\n')
}
