/** A value of a `postgresql.conf` setting. */
export type SettingValue = string | number | boolean

/**
 * Settings every node gets. Chosen for throw-away clusters on loopback:
 * - durability is traded for speed (`fsync`, `full_page_writes` off), but
 *   `synchronous_commit` stays on: off delays replication by 200–400 ms here;
 * - `wal_receiver_status_interval = 1s` and `hot_standby_feedback` keep the
 *   primary's view of its standbys fresh;
 * - `wal_retrieve_retry_interval = 100ms` makes a re-pointed or restarted standby
 *   reconnect at once instead of after the default 5 s;
 * - no Unix socket: every connection is TCP on 127.0.0.1, like the app's;
 * - dynamic shared memory in the data directory (`mmap`), not in /dev/shm
 *   segments that a killed server would leave behind.
 */
export const BASE_SETTINGS: Readonly<Record<string, SettingValue>> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  fsync: false,
  full_page_writes: false,
  synchronous_commit: 'on',
  wal_level: 'replica',
  hot_standby: true,
  hot_standby_feedback: true,
  wal_receiver_status_interval: '1s',
  wal_retrieve_retry_interval: '100ms',
  max_wal_senders: 16,
  max_replication_slots: 16,
  wal_keep_size: '256MB',
  shared_buffers: '32MB',
  max_connections: 100,
  dynamic_shared_memory_type: 'mmap',
  log_min_messages: 'warning',
  log_line_prefix: '%m [%p] ',
}

/** Renders settings as `postgresql.conf` lines, quoting strings as PostgreSQL expects. */
export function renderSettings(settings: Readonly<Record<string, SettingValue>>): string {
  let text = ''
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_][a-z0-9_.]*$/i.test(name)) throw new Error(`invalid setting name: ${JSON.stringify(name)}`)
    const rendered = typeof value === 'string' ? `'${value.replaceAll("'", "''")}'` : String(value)
    text += `${name} = ${rendered}\n`
  }
  return text
}

/** A `primary_conninfo` string for a standby of the server on `port`. */
export function conninfo(port: number, password: string, applicationName: string): string {
  return `host=127.0.0.1 port=${port} user=postgres password=${password} application_name=${applicationName}`
}
