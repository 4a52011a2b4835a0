import type pg from 'pg'
import { parseLsn, type WalLayout } from '../consistency/lsn.js'
import type { CausewayError } from '../errors/causeway-error.js'
import { functionRefusedError, refusedFunction } from '../errors/refused-function.js'
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

/**
 * What a probe asks when the server refused {@link PROBE_SQL} (a function a role
 * may not call, or a service does not provide). PostgreSQL checks EXECUTE on every
 * function of a statement before running it, even one in a CASE branch never
 * taken, so a primary refused a replica-only function fails the whole probe.
 */
const ROLE_SQL = 'select pg_is_in_recovery() as recovery, pg_postmaster_start_time()::text as lifetime'

/** A primary's position and timeline, asked apart from {@link ROLE_SQL} on a refusing server. */
const PRIMARY_POSITION_SQL = `select pg_current_wal_lsn()::text as lsn,
  ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as timeline`

const CHECKPOINT_TIMELINE_SQL = 'select timeline_id as timeline from pg_control_checkpoint()'

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
      let row: ProbeRow
      let refused: CausewayError | undefined
      try {
        row = (await client.query<ProbeRow>(PROBE_SQL)).rows[0]!
      } catch (error) {
        if (!refusedFunction(error)) throw error
        refused = functionRefusedError(error, node.name)
        side.statements++
        row = await probeRefusing(client, node.name, refused)
      }
      let identity = identities.get(node)
      // Read on the same connection as the probe, so of the same server: a new start
      // time (a restart, or another server behind the same address) reads it again.
      if (identity?.lifetime !== row.lifetime) {
        side.statements++
        identity = await readIdentity(client, row.lifetime).catch((error: unknown) => {
          throw refusedFunction(error) ? functionRefusedError(error, node.name) : error
        })
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
        refused,
      }
    })
    .catch((error: unknown) => {
      if (queued && error instanceof Error) Object.defineProperty(error, 'probeQueued', { value: true })
      throw error
    })
}

/**
 * The probe of a server that refused {@link PROBE_SQL}. A standby whose replay
 * position cannot be read can never prove a read fresh: the probe fails with
 * `refused` (so the node is never routed to, and is probed with backoff). A
 * primary still takes writes: its position is read apart, and left unknown if
 * that is refused too (token captures then fail, and reads after writes go to
 * the primary).
 */
async function probeRefusing(client: pg.Client, node: string, refused: CausewayError): Promise<ProbeRow> {
  const rethrow = (error: unknown): never => {
    throw refusedFunction(error) ? functionRefusedError(error, node) : error
  }
  const { rows } = await client.query<{ recovery: boolean; lifetime: string }>(ROLE_SQL).catch(rethrow)
  const { recovery, lifetime } = rows[0]!
  if (recovery) throw refused
  const position = await client.query<{ lsn: string; timeline: number }>(PRIMARY_POSITION_SQL).then(
    ({ rows }) => rows[0],
    (error: unknown) => (refusedFunction(error) ? undefined : rethrow(error)),
  )
  // Without pg_walfile_name(), the timeline of the last checkpoint: a primary
  // writes its own timeline's checkpoints (it may lag just after a promotion, and
  // the topology keeps the newer reading within one server lifetime).
  const timeline =
    position?.timeline ??
    (await client.query<{ timeline: number }>(CHECKPOINT_TIMELINE_SQL).then(
      ({ rows }) => rows[0]?.timeline,
      (error: unknown) => (refusedFunction(error) ? undefined : rethrow(error)),
    ))
  return {
    recovery,
    lifetime,
    lsn: position?.lsn ?? null,
    timeline: timeline ?? null,
    upstream: null,
    paused: false,
  }
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
