import { type Availability, findProgram, programAvailability, unavailableReason } from './availability.js'
import { HarnessError } from './harness-error.js'
import { serverUser } from './os-user.js'
import { startProxy } from './proxy-process.js'
import type { Backend, RunningProxy } from './running-proxy.js'

/** Options of {@link startPgbouncer}. */
export interface StartPgbouncerOptions {
  /** The server to pool connections to. Every database name is passed on to it. */
  readonly backend: Backend
  /**
   * `'transaction'`: a server connection serves a client for one transaction (or one
   * statement outside a transaction), then the next client; `'session'`: for as
   * long as the client stays connected.
   */
  readonly poolMode: 'transaction' | 'session'
  /**
   * The login that clients use, and that PgBouncer passes on to the server: a
   * server's user and its password (SCRAM on both sides).
   */
  readonly user: string
  readonly password: string
  /** Server connections per database and user (`default_pool_size`). Default 20. */
  readonly poolSize?: number
  /** More `[pgbouncer]` settings, such as `{ ignore_startup_parameters: 'options' }`. */
  readonly settings?: Readonly<Record<string, string | number>>
  /** How long PgBouncer may take to listen. Default 10,000 ms. */
  readonly startTimeoutMillis?: number
}

/**
 * Whether Debian's `pgbouncer` is installed here; when not, the reason, for a test
 * to report as it skips.
 */
export function pgbouncerAvailable(): Availability {
  return programAvailability('pgbouncer', 'pgbouncer', ['--version'])
}

/**
 * Starts PgBouncer in front of one server and resolves once it accepts
 * connections. It refuses to run as root, so a root caller runs it as the same
 * OS user as the embedded servers.
 *
 * @example
 * const { username, password } = new URL(cluster.primary.url)
 * await using bouncer = await startPgbouncer({
 *   backend: backendOf(cluster.primary.url),
 *   poolMode: 'transaction',
 *   user: decodeURIComponent(username),
 *   password: decodeURIComponent(password),
 * })
 * const primaryUrl = bouncer.urlFor(cluster.primary.url)
 */
export async function startPgbouncer(options: StartPgbouncerOptions): Promise<RunningProxy> {
  const program = findProgram('pgbouncer')
  if (!program) throw new HarnessError(`startPgbouncer: ${unavailableReason(pgbouncerAvailable())}`)
  return startProxy({
    name: 'pgbouncer',
    program,
    user: serverUser(),
    // SIGTERM is PgBouncer's immediate shutdown; SIGINT would wait for clients to leave.
    stopSignal: 'SIGTERM',
    startTimeoutMillis: options.startTimeoutMillis ?? 10_000,
    prepare: (dir, port) => ({
      files: {
        'pgbouncer.ini': renderConfig(dir, port, options),
        'userlist.txt': `${quote(options.user)} ${quote(options.password)}\n`,
      },
      args: [`${dir}/pgbouncer.ini`],
    }),
  })
}

function renderConfig(dir: string, port: number, options: StartPgbouncerOptions): string {
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    // No Unix socket: it would go to /tmp, outside the directory that close() removes.
    unix_socket_dir: '',
    auth_type: 'scram-sha-256',
    auth_file: `${dir}/userlist.txt`,
    pool_mode: options.poolMode,
    default_pool_size: options.poolSize ?? 20,
    max_client_conn: 1000,
    // After a failed server login PgBouncer waits this long before the next; 15 s by default.
    server_login_retry: 1,
    log_connections: 0,
    log_disconnections: 0,
    ...options.settings,
  }
  const lines = Object.entries(settings).map(([key, value]) => `${key} = ${value}`)
  const { host, port: backendPort } = options.backend
  return ['[databases]', `* = host=${host} port=${backendPort}`, '', '[pgbouncer]', ...lines, ''].join('\n')
}

/** An auth_file field: double-quoted, with a double quote doubled. */
function quote(value: string): string {
  return `"${value.replaceAll('"', '""')}"`
}
