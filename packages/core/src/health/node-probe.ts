import type pg from 'pg'
import { parseLsn, type WalLayout } from '../consistency/lsn.js'
import type { DbNode, ProbeResult } from '../topology/db-node.js'

/**
 * One round trip that tells everything routing needs about a server, every
 * interval. A standby's timeline is the one it receives
 * (`pg_stat_wal_receiver.received_tli`), or the last restartpoint's when the
 * receiver is not running; a primary's is the timeline of the WAL file it writes.
 */
const PROBE_SQL = `select
  pg_is_in_recovery() as recovery,
  pg_postmaster_start_time()::text as lifetime,
  case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text else pg_current_wal_lsn()::text end as lsn,
  case when pg_is_in_recovery()
    then coalesce((select received_tli from pg_stat_wal_receiver), (select timeline_id from pg_control_checkpoint()))
    else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as timeline,
  (select sender_host || ':' || sender_port from pg_stat_wal_receiver) as upstream,
  pg_is_in_recovery() and pg_get_wal_replay_pause_state() <> 'not paused' as paused`

/**
 * What cannot change while a server runs (it would take a restart, and so a new
 * start time): read once per server lifetime. `pg_control_system()` reads the
 * control file, and `pg_settings` is a scan of every setting.
 */
const IDENTITY_SQL = `select
  (select system_identifier::text from pg_control_system()) as system_id,
  current_setting('wal_block_size')::int as page_bytes,
  (select setting::int from pg_settings where name = 'wal_segment_size') as segment_bytes`

interface ProbeRow {
  recovery: boolean
  lifetime: string
  lsn: string | null
  timeline: number | null
  upstream: string | null
  paused: boolean | null
}

interface Identity {
  /** The server start time this identity was read in. */
  readonly lifetime: string
  readonly systemId: string | undefined
  readonly walLayout: WalLayout
}

/** The identity last read per node, valid while the node's server keeps its start time. */
const identities = new WeakMap<DbNode, Identity>()

/**
 * Probes one node on its side connection; throws on any failure (the monitor feeds
 * the circuit breaker). A probe queued behind other work on that connection (a
 * promotion, a replay check) that times out says little about the server: its
 * error is marked `probeQueued`.
 */
export function probeNode(node: DbNode): Promise<ProbeResult> {
  const side = node.side
  const queued = side.busy
  return side
    .use<ProbeResult>(async (client) => {
      const { rows } = await client.query<ProbeRow>(PROBE_SQL)
      const row = rows[0]!
      let identity = identities.get(node)
      // Read on the same connection as the probe, so of the same server: a new start
      // time (a restart, or another server behind the same address) reads it again.
      if (identity?.lifetime !== row.lifetime) {
        side.statements++
        identity = await readIdentity(client, row.lifetime)
        identities.set(node, identity)
      }
      return {
        role: row.recovery ? 'replica' : 'primary',
        systemId: identity.systemId,
        lifetime: row.lifetime,
        lsn: row.lsn ? parseLsn(row.lsn) : undefined,
        timeline: row.timeline ?? undefined,
        upstream: row.upstream ?? undefined,
        replayPaused: row.paused === true,
        walLayout: identity.walLayout,
      }
    })
    .catch((error: unknown) => {
      if (queued && error instanceof Error) Object.defineProperty(error, 'probeQueued', { value: true })
      throw error
    })
}

async function readIdentity(client: pg.Client, lifetime: string): Promise<Identity> {
  const { rows } = await client.query<{
    system_id: string | null
    page_bytes: number
    segment_bytes: number
  }>(IDENTITY_SQL)
  const row = rows[0]!
  return {
    lifetime,
    systemId: row.system_id ?? undefined,
    walLayout: { pageBytes: row.page_bytes, segmentBytes: row.segment_bytes },
  }
}
