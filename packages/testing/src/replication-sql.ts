import type { ClusterNode } from './cluster-node.js'
import { waitFor } from './wait-for.js'

/** The replication slot a node streams from, named after it. */
export function slotName(nodeName: string): string {
  return `causeway_${nodeName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`
}

/** Creates `slot` on `node` unless it exists. */
export async function ensureSlot(node: ClusterNode, slot: string): Promise<void> {
  await node.query(
    `select pg_create_physical_replication_slot($1, true)
     where not exists (select 1 from pg_replication_slots where slot_name = $1)`,
    [slot],
  )
}

/** Resolves once `node` streams WAL from the server on `upstreamPort`. */
export async function waitStreaming(
  node: ClusterNode,
  upstreamPort: number,
  timeoutMillis: number,
  logTail?: () => string,
) {
  await waitFor(
    async () => {
      const rows = await node.query<{ sender_port: number }>(
        `select sender_port from pg_stat_wal_receiver where status = 'streaming'`,
      )
      return rows[0]?.sender_port === upstreamPort
    },
    { what: `${node.name} to stream from port ${upstreamPort}`, timeoutMillis, logTail },
  )
}

/** The timeline a server is on: the WAL file name of a primary, the received timeline of a standby. */
export async function currentTimeline(node: SqlNode): Promise<number> {
  const [row] = await node.query<{ tli: string }>(
    `select case when pg_is_in_recovery()
       then coalesce((select received_tli from pg_stat_wal_receiver)::text,
                     (select timeline_id from pg_control_checkpoint())::text)
       else substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) end as tli`,
  )
  const text = row?.tli ?? ''
  return text.length === 8 ? Number.parseInt(text, 16) : Number(text)
}

/** What the SQL-only controls need of a node. */
export type SqlNode = Pick<ClusterNode, 'name' | 'query' | 'isInRecovery'>

/** Pauses WAL replay and waits until it is paused. */
export async function pauseReplay(node: SqlNode): Promise<void> {
  await node.query('select pg_wal_replay_pause()')
  await waitFor(
    async () =>
      (await node.query<{ state: string }>('select pg_get_wal_replay_pause_state() as state'))[0]?.state ===
      'paused',
    { what: `${node.name} to pause replay`, timeoutMillis: 10_000, intervalMillis: 5 },
  )
}

/** Promotes a standby and waits until it is writable. */
export async function promote(node: SqlNode): Promise<void> {
  await node.query('select pg_promote(true, 30)')
  await waitFor(async () => !(await node.isInRecovery()), {
    what: `${node.name} to leave recovery`,
    timeoutMillis: 30_000,
    intervalMillis: 5,
  })
}

/** Re-points a standby to a new upstream with `ALTER SYSTEM` and a reload. */
export async function repoint(node: ClusterNode, upstream: ClusterNode, conninfo: string): Promise<void> {
  const slot = slotName(node.name)
  await ensureSlot(upstream, slot)
  await node.query(`alter system set primary_conninfo = ${literal(conninfo)}`)
  await node.query(`alter system set primary_slot_name = ${literal(slot)}`)
  await node.query('select pg_reload_conf()')
}

/** A SQL string literal; `ALTER SYSTEM` takes no parameters. */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
