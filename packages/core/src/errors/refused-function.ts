import { CausewayError } from './causeway-error.js'

/**
 * The server functions and views Causeway itself calls (probes, token captures,
 * replay checks), with what it loses when one is refused:
 * - `replica`: a standby's replay position or state, so a replica cannot be verified;
 * - `primary`: the primary's WAL position, so read-your-writes tokens cannot be taken;
 * - `identity`: the system identifier or WAL layout, so no node can be verified.
 */
const CALLED = {
  pg_is_in_recovery: 'identity',
  pg_postmaster_start_time: 'identity',
  pg_control_system: 'identity',
  pg_settings: 'identity',
  pg_last_wal_replay_lsn: 'replica',
  pg_get_wal_replay_pause_state: 'replica',
  pg_control_checkpoint: 'replica',
  pg_stat_wal_receiver: 'replica',
  pg_stat_get_wal_receiver: 'replica',
  pg_current_wal_lsn: 'primary',
  pg_current_wal_insert_lsn: 'primary',
  pg_walfile_name: 'primary',
} as const satisfies Record<string, 'identity' | 'replica' | 'primary'>

type CalledName = keyof typeof CALLED

/**
 * The SQLSTATEs of a refused function: 42501 insufficient privilege (`REVOKE
 * EXECUTE … FROM PUBLIC` on a hardened server), 42883 undefined function (a
 * service that removed it), 0A000 feature not supported (a service that keeps the
 * function but raises, as Aurora does for the WAL functions).
 */
const REFUSED_STATES = new Set(['42501', '42883', '0A000'])

const NAMES = new RegExp(`\\b(${Object.keys(CALLED).join('|')})\\b`, 'i')

/** What {@link refusedFunction} found: the function (or view) refused, if the message names one. */
export interface RefusedFunction {
  readonly sqlState: string
  /** One of the functions or views Causeway calls, as the server named it; undefined when it named none. */
  readonly name: string | undefined
}

/**
 * Whether an error of one of Causeway's own statements (a probe, a token capture,
 * a replay check) is the server refusing a function it calls, and which. Only for
 * Causeway's own SQL: an app statement refused by its privileges is the app's
 * error, and never goes through here.
 *
 * @example
 * refusedFunction({ code: '42501', message: 'permission denied for function pg_last_wal_replay_lsn' })
 * // { sqlState: '42501', name: 'pg_last_wal_replay_lsn' }
 */
export function refusedFunction(error: unknown): RefusedFunction | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code !== 'string' || !REFUSED_STATES.has(code)) return undefined
  const name = NAMES.exec(String(message ?? ''))?.[1]?.toLowerCase()
  // 42883 also means an operator or a cast that does not exist; on Causeway's own
  // SQL that is a removed function too, but name it only when the server did.
  return { sqlState: code, name }
}

/**
 * The {@link CausewayError} `FUNCTION_REFUSED` for a refused function on `node`:
 * it names the function, what Causeway cannot do without it, and what to configure.
 * The server's error is its `cause`. It names no role and no credential.
 *
 * @example
 * functionRefusedError(error, 'db2').message
 * // 'db2 refuses pg_last_wal_replay_lsn() (42501: permission denied for function pg_last_wal_replay_lsn):
 * //  Causeway cannot read its replay position, so it never routes reads to it. Grant pg_monitor to the
 * //  role Causeway connects as (or: grant execute on function pg_catalog.pg_last_wal_replay_lsn() to that role)'
 */
export function functionRefusedError(error: unknown, node: string): CausewayError {
  const refused = refusedFunction(error) ?? { sqlState: '', name: undefined }
  const { name, sqlState } = refused
  const serverMessage = String((error as { message?: unknown } | null)?.message ?? error)
  const what = name ? `${display(name)}` : 'a function Causeway calls'
  const message = `${node} refuses ${what} (${sqlState ? `${sqlState}: ` : ''}${serverMessage}): ${consequence(name)}. ${fix(refused)}`
  return new CausewayError('FUNCTION_REFUSED', message, { cause: error, node })
}

function display(name: string): string {
  return name.startsWith('pg_stat_') || name === 'pg_settings' ? name : `${name}()`
}

function consequence(name: string | undefined): string {
  switch (name === undefined ? undefined : CALLED[name as CalledName]) {
    case 'replica':
      return 'Causeway cannot read its replay position as a replica, so it never routes reads to it there'
    case 'primary':
      return 'Causeway cannot read its WAL position, so reads after a write go to the primary (no read-your-writes tokens)'
    case 'identity':
      return 'Causeway cannot verify the server (its role, lifetime or system identifier), so it routes nothing to it'
    default:
      return 'Causeway cannot read its WAL positions, so it does not route to it'
  }
}

function fix({ sqlState, name }: RefusedFunction): string {
  if (sqlState === '42501') {
    const grant = name?.startsWith('pg_stat_') || name === 'pg_settings' ? 'select on' : 'execute on function'
    return (
      'Grant pg_monitor to the role Causeway connects as' +
      (name ? ` (or: grant ${grant} pg_catalog.${display(name)} to that role)` : '')
    )
  }
  const missing = name ? display(name) : 'the WAL position functions'
  return `This server or service does not provide ${missing}: Causeway cannot verify replicas there; configure it as the primary only, with no replicas`
}
