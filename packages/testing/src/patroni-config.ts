/** Patroni's timing settings, in seconds, as its `bootstrap.dcs` takes them. */
export interface PatroniTimings {
  /** How long the leader key lives without a renewal: a dead leader is replaced after about this. */
  readonly ttl: number
  /** Seconds between two runs of each member's HA loop. */
  readonly loopWait: number
  /** How long a member retries etcd and PostgreSQL before it gives up (a leader then demotes itself). */
  readonly retryTimeout: number
}

/** What differs from one member's configuration to the next. */
export interface PatroniMemberSettings {
  readonly scope: string
  readonly name: string
  readonly dir: string
  readonly dataDir: string
  readonly restPort: number
  readonly pgPort: number
  readonly etcdPort: number
  readonly binDir: string
  readonly password: string
  readonly timings: PatroniTimings
  /** Patroni's `synchronous_mode`: commits wait for one standby, and only it may be promoted. */
  readonly synchronousMode: boolean
}

const HOST = '127.0.0.1'

/**
 * A member's `patroni.yml`, written as JSON (which YAML reads as is). The
 * settings are the ones a by-hand run on these machines proved: see
 * `shared/probes/patroni-etcd.md`.
 */
export function renderPatroniConfig(member: PatroniMemberSettings): string {
  const { timings } = member
  const config = {
    scope: member.scope,
    namespace: '/service/',
    name: member.name,
    restapi: { listen: `${HOST}:${member.restPort}`, connect_address: `${HOST}:${member.restPort}` },
    etcd3: { hosts: `${HOST}:${member.etcdPort}` },
    bootstrap: {
      // Read once, by the member that initializes the cluster, and kept in etcd from then on.
      dcs: {
        ttl: timings.ttl,
        loop_wait: timings.loopWait,
        retry_timeout: timings.retryTimeout,
        maximum_lag_on_failover: 1_048_576,
        synchronous_mode: member.synchronousMode,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica',
            hot_standby: 'on',
            // pg_rewind needs hint bits in the WAL (or data checksums) to rejoin an old leader.
            wal_log_hints: 'on',
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: '128MB',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums'],
    },
    postgresql: {
      listen: `${HOST}:${member.pgPort}`,
      connect_address: `${HOST}:${member.pgPort}`,
      data_dir: member.dataDir,
      bin_dir: member.binDir,
      pgpass: `${member.dir}/pgpass`,
      authentication: {
        superuser: { username: 'postgres', password: member.password },
        replication: { username: 'replicator', password: member.password },
        rewind: { username: 'rewinder', password: member.password },
      },
      pg_hba: [
        'local all all trust',
        `host replication replicator ${HOST}/32 md5`,
        `host all all ${HOST}/32 md5`,
      ],
      parameters: {
        // Not /var/run/postgresql: that belongs to the Debian package, and the run directory is removed on close.
        unix_socket_directories: member.dir,
      },
    },
  }
  return `${JSON.stringify(config, null, 2)}\n`
}
