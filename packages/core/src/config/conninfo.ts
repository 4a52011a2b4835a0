import { CausewayError } from '../errors/causeway-error.js'

/**
 * libpq's `target_session_attrs`: which server of a host list a client wants
 * (PostgreSQL 14+ values; libpq before 14 knew `any` and `read-write` only).
 */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby'

const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = [
  'any',
  'read-write',
  'read-only',
  'primary',
  'standby',
  'prefer-standby',
]

/** One server of a host list. */
export interface ConninfoHost {
  /** A name or address, `''` for the default, or a unix-socket directory (it starts with `/`). */
  readonly host: string
  /** Undefined: the default port (5432). */
  readonly port: number | undefined
}

/** A libpq connection string, parsed: one or more hosts and what every host shares. */
export interface Conninfo {
  readonly form: 'url' | 'key-value'
  /** At least one. */
  readonly hosts: readonly ConninfoHost[]
  readonly user: string | undefined
  readonly password: string | undefined
  readonly dbname: string | undefined
  readonly targetSessionAttrs: TargetSessionAttrs | undefined
  /** Every other parameter (`sslmode`, `application_name`, …), decoded, for `pg`. */
  readonly params: Readonly<Record<string, string>>
}

/**
 * Parses a libpq connection string: a URL (`postgres://u@h1:5432,h2:5433/db?sslmode=require`)
 * or key/value pairs (`host=h1,h2 port=5432,5433 dbname=app`), each with several
 * hosts allowed, as libpq allows them.
 *
 * Throws a `CONFIG_INVALID` {@link CausewayError} that says what is wrong without
 * echoing any part of the text: it may hold a password.
 *
 * @example
 * parseConninfo('host=h1,h2 port=5432,5433 target_session_attrs=standby').hosts
 * // [{ host: 'h1', port: 5432 }, { host: 'h2', port: 5433 }]
 */
export function parseConninfo(text: string): Conninfo {
  const trimmed = text.trim()
  if (trimmed === '') throw invalid('is empty')
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]
  if (scheme !== undefined) {
    if (!['postgres', 'postgresql'].includes(scheme.toLowerCase())) throw invalid(NOT_A_CONNECTION_STRING)
    return fromUrl(trimmed.slice(scheme.length + 3))
  }
  if (!trimmed.includes('=')) throw invalid(NOT_A_CONNECTION_STRING)
  return fromPairs('key-value', parsePairs(trimmed))
}

const NOT_A_CONNECTION_STRING =
  'must be a postgres:// or postgresql:// URL, or a key/value connection string (host=… dbname=…)'

/** `host:port` of one host, as nodes are named: `[::1]:5432` for IPv6, `localhost` for the default host. */
export function hostAddress({ host, port }: ConninfoHost): string {
  const name = host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `${name}:${port ?? 5432}`
}

/**
 * A single-host `postgres://` URL for one host of `info`, in the form `pg`'s own
 * parser reads: the user, password and database percent-encoded, every other
 * parameter in the query. A unix-socket directory goes in the `host` parameter,
 * which `pg` prefers to the URL's host.
 */
export function singleHostUrl(info: Conninfo, one: ConninfoHost): string {
  const credentials =
    info.user === undefined && info.password === undefined
      ? ''
      : `${encodeURIComponent(info.user ?? '')}${info.password === undefined ? '' : `:${encodeURIComponent(info.password)}`}@`
  const socket = one.host.startsWith('/')
  const query = new URLSearchParams(info.params)
  if (socket) query.set('host', one.host)
  const authority = hostAddress(socket ? { host: 'localhost', port: one.port } : one)
  const search = query.size > 0 ? `?${query.toString()}` : ''
  return `postgres://${credentials}${authority}/${encodeURIComponent(info.dbname ?? '')}${search}`
}

function invalid(problem: string): CausewayError {
  return new CausewayError('CONFIG_INVALID', problem)
}

/**
 * `postgres://[user[:password]@][host[:port][,…]][/dbname][?name=value&…]`, after
 * the scheme. Every part is percent-decoded, as libpq does, and `+` stays a `+`.
 * The user part ends at the last `@` before the path, as in WHATWG URLs and `pg`,
 * so an unencoded `@` in a password still works.
 */
function fromUrl(rest: string): Conninfo {
  const withoutFragment = rest.split('#')[0]!
  const pathAt = withoutFragment.search(/[/?]/)
  const authority = pathAt < 0 ? withoutFragment : withoutFragment.slice(0, pathAt)
  const tail = pathAt < 0 ? '' : withoutFragment.slice(pathAt)
  const at = authority.lastIndexOf('@')
  const pairs: [string, string][] = []
  if (at >= 0) {
    const userinfo = authority.slice(0, at)
    const colon = userinfo.indexOf(':')
    pairs.push(['user', decode(colon < 0 ? userinfo : userinfo.slice(0, colon), 'the user')])
    if (colon >= 0) pairs.push(['password', decode(userinfo.slice(colon + 1), 'the password')])
  }
  const hostList = authority.slice(at + 1)
  const queryAt = tail.indexOf('?')
  const path = queryAt < 0 ? tail : tail.slice(0, queryAt)
  if (path.length > 1) pairs.push(['dbname', decode(path.slice(1), 'the database name')])
  const hosts = hostList === '' ? [{ host: '', port: undefined }] : hostList.split(',').map(urlHost)
  if (queryAt >= 0) {
    for (const param of tail.slice(queryAt + 1).split('&')) {
      if (param === '') continue
      const eq = param.indexOf('=')
      if (eq <= 0) throw invalid('has a query parameter without a name or without "="')
      const key = decode(param.slice(0, eq), 'a query parameter name')
      pairs.push([key, decode(param.slice(eq + 1), `the query parameter ${safeKey(key)}`)])
    }
  }
  return fromPairs('url', pairs, hosts)
}

/** One `host[:port]` of a URL's host list; IPv6 addresses are bracketed. */
function urlHost(spec: string, index: number): ConninfoHost {
  const which = `host ${index + 1}`
  let host: string
  let port: string | undefined
  if (spec.startsWith('[')) {
    const close = spec.indexOf(']')
    if (close < 0) throw invalid(`${which}: an IPv6 address misses its "]"`)
    host = spec.slice(1, close)
    const after = spec.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) throw invalid(`${which}: only ":port" may follow "]"`)
    port = after === '' ? undefined : after.slice(1)
  } else {
    const colon = spec.indexOf(':')
    host = decode(colon < 0 ? spec : spec.slice(0, colon), which)
    port = colon < 0 ? undefined : spec.slice(colon + 1)
  }
  return { host, port: parsePort(port, which) }
}

function parsePort(text: string | undefined, which: string): number | undefined {
  if (text === undefined || text === '') return undefined
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!(port >= 1 && port <= 65535)) throw invalid(`${which}: the port must be a number from 1 to 65535`)
  return port
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw invalid(`${what} has a malformed percent-encoding`)
  }
}

/**
 * libpq's key/value syntax: `key = value` pairs separated by whitespace; a value
 * is single-quoted to hold spaces or be empty, and a backslash escapes the next
 * character, inside quotes or not (`'it\'s'`, `a\ b`). The last of a repeated key wins.
 * `fail` makes the error (default: `CONFIG_INVALID`); problems never echo a value.
 */
export function parsePairs(text: string, fail: (problem: string) => Error = invalid): [string, string][] {
  const pairs: [string, string][] = []
  let i = 0
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++
  }
  for (;;) {
    skipSpace()
    if (i >= text.length) return pairs
    const keyStart = i
    while (i < text.length && text[i] !== '=' && !/\s/.test(text[i]!)) i++
    const key = text.slice(keyStart, i)
    const which = `pair ${pairs.length + 1}`
    if (!/^[a-z_][a-z0-9_]*$/i.test(key)) throw fail(`${which}: a key is letters, digits and "_"`)
    skipSpace()
    if (text[i] !== '=') throw fail(`${which} (${key}): "=" expected after the key`)
    i++
    skipSpace()
    let value = ''
    const quoted = text[i] === "'"
    if (quoted) i++
    while (i < text.length && (quoted ? text[i] !== "'" : !/\s/.test(text[i]!))) {
      if (text[i] === '\\') i++
      if (i < text.length) value += text[i]
      i++
    }
    if (quoted) {
      if (text[i] !== "'")
        throw fail(`${which} (${key}): the quoted value has no closing quote (unterminated)`)
      i++
    }
    pairs.push([key, value])
  }
}

/** Keys are echoed only when they look like keys: a malformed string may have a password where a key should be. */
function safeKey(key: string): string {
  return /^[a-z_][a-z0-9_]{0,62}$/i.test(key) ? `"${key}"` : '(a malformed name)'
}

/**
 * Builds the result from pairs, libpq's way: `host` and `port` are comma lists,
 * and the ports are either one per host, or one for all (an empty entry is the
 * default port). A URL's own hosts are replaced by a `host` parameter.
 */
function fromPairs(
  form: Conninfo['form'],
  pairs: readonly [string, string][],
  urlHosts?: readonly ConninfoHost[],
): Conninfo {
  const values = new Map(pairs)
  const take = (key: string) => {
    const value = values.get(key)
    values.delete(key)
    return value
  }
  if (values.has('hostaddr')) {
    throw invalid('hostaddr is not supported: put the addresses in host (a name or an IP address)')
  }
  const hostParam = take('host')
  const portParam = take('port')
  let hosts: ConninfoHost[]
  if (hostParam === undefined && urlHosts !== undefined) {
    hosts =
      portParam === undefined
        ? [...urlHosts]
        : withPorts(
            urlHosts.map((h) => h.host),
            portParam,
          )
  } else {
    hosts = withPorts((hostParam ?? '').split(','), portParam)
  }
  const attrs = take('target_session_attrs')
  if (attrs !== undefined && !TARGET_SESSION_ATTRS.includes(attrs as TargetSessionAttrs)) {
    throw invalid(`target_session_attrs must be one of ${TARGET_SESSION_ATTRS.join(', ')}`)
  }
  // libpq's choice among the hosts; Causeway makes every host a node instead.
  take('load_balance_hosts')
  return {
    form,
    hosts,
    user: take('user'),
    password: take('password'),
    dbname: take('dbname'),
    targetSessionAttrs: attrs as TargetSessionAttrs | undefined,
    params: Object.fromEntries(values),
  }
}

function withPorts(hosts: readonly string[], portParam: string | undefined): ConninfoHost[] {
  const ports = portParam === undefined ? [] : portParam.split(',')
  if (ports.length > 1 && ports.length !== hosts.length) {
    throw invalid(
      `port lists ${ports.length} ports for ${hosts.length} hosts: give one port, or one per host`,
    )
  }
  return hosts.map((host, i) => ({
    host: host.trim(),
    port: parsePort((ports.length === 1 ? ports[0] : ports[i])?.trim(), `port of host ${i + 1}`),
  }))
}
