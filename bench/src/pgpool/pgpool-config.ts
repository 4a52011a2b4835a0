/** One PostgreSQL server behind pgpool. */
export interface PgpoolBackend {
  readonly host: string
  readonly port: number
  /** The replica's `application_name` in the primary's `pg_stat_replication`. */
  readonly name: string
  /** Share of load-balanced sessions; 0 keeps reads off this node. */
  readonly weight: number
}

/** What a pgpool-II 4.3 config for the bench needs. */
export interface PgpoolSettings {
  readonly port: number
  /** Holds the sockets, the pid file, the status file and the log. */
  readonly dir: string
  /** The primary first. */
  readonly backends: readonly PgpoolBackend[]
  /** The superuser pgpool's own checks connect as. */
  readonly user: string
  readonly password: string
  /** Client connections pgpool accepts at once (one child process each). */
  readonly children: number
}

/**
 * pgpool.conf for streaming-replication mode with session-level load balancing.
 *
 * - 4.3 names its socket directories `socket_dir` and `pcp_socket_dir`; it does not
 *   know `unix_socket_directories`.
 * - The primary gets `backend_weight0 = 0`: with equal weights it would serve a
 *   third of the reads, and the bench compares replica routing.
 * - Auth: `enable_pool_hba = off` and the password in `pool_passwd` as `TEXT…`, so
 *   pgpool answers the client's SCRAM exchange itself and logs in to each backend
 *   with SCRAM as well. `sr_check` and `health_check` carry the password too.
 * - `health_check_period` is the same as a typical deployment's, and
 *   `failover_on_backend_error = off` so a slow moment never detaches a node mid-run.
 */
export function renderPgpoolConfig(settings: PgpoolSettings): string {
  const { dir, backends, user, password } = settings
  const lines: string[] = [
    `backend_clustering_mode = 'streaming_replication'`,
    `listen_addresses = '127.0.0.1'`,
    `port = ${settings.port}`,
    `socket_dir = '${dir}'`,
    // No PCP over TCP; its unix socket lives in our directory.
    `pcp_listen_addresses = ''`,
    `pcp_port = ${settings.port + 1}`,
    `pcp_socket_dir = '${dir}'`,
    `pid_file_name = '${dir}/pgpool.pid'`,
    `logdir = '${dir}'`,
    `log_destination = 'stderr'`,
    `log_min_messages = warning`,
    `num_init_children = ${settings.children}`,
    `max_pool = 1`,
    `child_life_time = 0`,
    `connection_life_time = 0`,
    `client_idle_limit = 0`,
    `enable_pool_hba = off`,
    `pool_passwd = 'pool_passwd'`,
    `allow_clear_text_frontend_auth = off`,
    `load_balance_mode = on`,
    `statement_level_load_balance = off`,
    `sr_check_period = 10`,
    `sr_check_user = '${user}'`,
    `sr_check_password = '${password}'`,
    `sr_check_database = 'postgres'`,
    `health_check_period = 10`,
    `health_check_timeout = 5`,
    `health_check_user = '${user}'`,
    `health_check_password = '${password}'`,
    `health_check_database = 'postgres'`,
    `failover_on_backend_error = off`,
    `use_watchdog = off`,
    `memory_cache_enabled = off`,
  ]
  backends.forEach((backend, i) => {
    lines.push(
      `backend_hostname${i} = '${backend.host}'`,
      `backend_port${i} = ${backend.port}`,
      `backend_weight${i} = ${backend.weight}`,
      `backend_application_name${i} = '${backend.name}'`,
    )
  })
  return `${lines.join('\n')}\n`
}

/** `pool_passwd`: the password in clear (`TEXT` prefix), read by pgpool only; the file is 0600. */
export function renderPoolPasswd(user: string, password: string): string {
  return `${user}:TEXT${password}\n`
}
