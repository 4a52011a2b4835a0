import { CausewayError } from '../errors/causeway-error.js'
import {
  type Conninfo,
  hostAddress,
  parseConninfo,
  singleHostUrl,
  type TargetSessionAttrs,
} from './conninfo.js'
import type { NodeConfig } from './node-config.js'

/** Which entry of the config a node comes from. */
export type NodeRole = 'primary' | 'replica'

/**
 * The `target_session_attrs` each entry accepts. On `primary`, the hosts are
 * candidates and the writable one is followed, which is what `read-write` and
 * `primary` ask of libpq; on a replica entry every host serves reads while it is a
 * standby, which `standby`, `prefer-standby` and `read-only` ask for. `any` fits both.
 */
const ACCEPTED: Readonly<Record<NodeRole, readonly TargetSessionAttrs[]>> = {
  primary: ['any', 'read-write', 'primary'],
  replica: ['any', 'standby', 'prefer-standby', 'read-only'],
}

/**
 * One entry of `primary` or `replicas`, as nodes: one per host of a multi-host
 * connection string (`postgres://h1,h2/db`, `host=h1,h2`), each a single-host
 * `pg` config named `<name>-<host:port>` (or `host:port` when the entry has no
 * name). An entry with one host stays one node under its own name; a plain
 * single-host URL is kept as given.
 *
 * Throws a `CONFIG_INVALID` {@link CausewayError} whose message names no value
 * (it may hold a password): a bad connection string, or a `target_session_attrs`
 * that asks for the other role.
 *
 * @example
 * expandNode('postgres://app@h1,h2:5433/app?target_session_attrs=read-write', 'primary')
 * // [{ name: 'h1:5432', connectionString: 'postgres://app@h1:5432/app', host: 'h1', port: 5432 },
 * //  { name: 'h2:5433', connectionString: 'postgres://app@h2:5433/app', host: 'h2', port: 5433 }]
 */
export function expandNode(config: NodeConfig, role: NodeRole): NodeConfig[] {
  const text = typeof config === 'string' ? config : config.connectionString
  if (text === undefined) return [config]
  const info = parseConninfo(text)
  const attrs = info.targetSessionAttrs
  if (attrs !== undefined && !ACCEPTED[role].includes(attrs)) {
    throw new CausewayError(
      'CONFIG_INVALID',
      role === 'primary'
        ? `target_session_attrs=${attrs} asks for a standby, but this is the primary: list these hosts under replicas, or use read-write`
        : `target_session_attrs=${attrs} asks for the primary, but this is a replica entry: list these hosts under primary, or use standby`,
    )
  }
  if (keptAsGiven(text, info)) return [config]
  const options = typeof config === 'string' ? {} : config
  const name = options.name
  const single = info.hosts.length === 1
  return info.hosts.map((one) => ({
    ...options,
    name: single
      ? (name ?? hostAddress(one))
      : name === undefined
        ? hostAddress(one)
        : `${name}-${hostAddress(one)}`,
    connectionString: singleHostUrl(info, one),
    // Where other servers reach the node (a re-pointed standby's primary_conninfo):
    // for a unix socket, the URL's host is a stand-in.
    host: one.host === '' ? 'localhost' : one.host,
    port: one.port ?? 5432,
  }))
}

/**
 * A single-host URL without libpq-only parameters goes to `pg` exactly as the
 * user wrote it, as before multi-host strings were understood.
 */
function keptAsGiven(text: string, info: Conninfo): boolean {
  if (info.form !== 'url' || info.hosts.length !== 1 || info.targetSessionAttrs !== undefined) return false
  if (/[?&](load_balance_hosts|target_session_attrs)=/.test(text)) return false
  try {
    new URL(text.trim())
    return true
  } catch {
    return false
  }
}

/**
 * `template`'s connection settings (user, password, database, TLS, pool options)
 * at another server: a node for a member an outside manager lists, named `name`.
 *
 * @example
 * nodeConfigAt('postgres://app:pw@pg1:5432/app', 'pg2', 'pg2', 5432)
 * // { name: 'pg2', connectionString: 'postgres://app:pw@pg2:5432/app', host: 'pg2', port: 5432 }
 */
export function nodeConfigAt(template: NodeConfig, name: string, host: string, port: number): NodeConfig {
  const options = typeof template === 'string' ? {} : template
  const text = typeof template === 'string' ? template : template.connectionString
  const connectionString = text === undefined ? undefined : singleHostUrl(parseConninfo(text), { host, port })
  return {
    ...options,
    name,
    ...(connectionString === undefined ? {} : { connectionString }),
    host,
    port,
  }
}
