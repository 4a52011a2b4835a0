/**
 * Functions that write, take locks, or read state that only exists on the session
 * or the primary. A select calling any of them must run on the primary:
 * - `nextval`/`setval` change a sequence; `currval`/`lastval` read the session's
 *   last sequence value, which only exists on the connection that called `nextval`;
 * - advisory locks are per server, so taking one on a replica locks nothing the
 *   primary's sessions can see;
 * - `set_config` changes session state; `pg_notify` needs a writable node;
 * - `txid_current`/`pg_current_xact_id` assign a transaction id (a write), and
 *   `pg_current_wal_*` fail on a standby;
 * - large-object functions (`lo_*`) write `pg_largeobject`; `dblink_exec` runs
 *   arbitrary remote SQL.
 */
const EXACT = new Set([
  'nextval',
  'setval',
  'currval',
  'lastval',
  'set_config',
  'pg_notify',
  'txid_current',
  'txid_current_if_assigned',
  'pg_current_xact_id',
  'pg_current_xact_id_if_assigned',
  'dblink_exec',
  'pg_promote',
  'pg_create_restore_point',
  'pg_switch_wal',
])

const PREFIXES = ['pg_advisory_', 'pg_try_advisory_', 'pg_current_wal_', 'lo_', 'pg_logical_emit_message']

/**
 * Whether a function name (unqualified or schema-qualified, any case) is one that
 * must run on the primary.
 *
 * @example
 * isWriteFunction('nextval')               // true
 * isWriteFunction('pg_catalog.pg_advisory_lock') // true
 * isWriteFunction('lower')                 // false
 */
export function isWriteFunction(name: string): boolean {
  const dot = name.lastIndexOf('.')
  const bare = (dot === -1 ? name : name.slice(dot + 1)).toLowerCase()
  if (EXACT.has(bare)) return true
  for (const prefix of PREFIXES) if (bare.startsWith(prefix)) return true
  return false
}
