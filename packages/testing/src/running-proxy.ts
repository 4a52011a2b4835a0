/** A server behind a proxy. */
export interface Backend {
  readonly host: string
  readonly port: number
}

/**
 * A proxy (HAProxy, PgBouncer) listening on a loopback port in front of PostgreSQL
 * servers, started by {@link startHaproxy} or {@link startPgbouncer}.
 */
export interface RunningProxy extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly host: string
  readonly port: number
  /** The proxy's process, for tests that check it is gone after {@link close}. */
  readonly pid: number
  /** The temporary directory with its configuration and log; removed by {@link close}. */
  readonly dir: string
  /**
   * `url` (a backend's `postgres://` URL, such as a node's `url`) with its host and
   * port replaced by the proxy's: the same user, password, database and parameters.
   *
   * @example
   * proxy.urlFor('postgres://postgres:secret@127.0.0.1:15401/postgres')
   * // → 'postgres://postgres:secret@127.0.0.1:21877/postgres'
   */
  urlFor(url: string): string
  /** The last lines of the proxy's log. */
  logTail(lines?: number): string
  /** Stops the proxy, waits until its process is gone, and removes its directory. Safe to call twice. */
  close(): Promise<void>
}

/**
 * The host and port of a `postgres://` URL, such as a node's `url`: the backend to
 * put behind a proxy.
 */
export function backendOf(url: string): Backend {
  const parsed = new URL(url)
  // An IPv6 address keeps its brackets in a URL, and loses them in HAProxy's and PgBouncer's settings.
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port || 5432) }
}
