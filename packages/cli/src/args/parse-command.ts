import { type ParseArgsConfig, parseArgs } from 'node:util'
import { usageError } from '../cli-error.js'
import { COMMAND_NAMES, type Command, type CommandName, type MirrorTarget, type Targets } from './command.js'
import { ENV_PRIMARY_URL, ENV_REPLICA_URLS, splitUrls } from './env-urls.js'

/** The default redraw interval of `causeway watch`. */
export const DEFAULT_INTERVAL_MILLIS = 1_000
/** Below this a redraw would mostly show probe noise, and cost the servers for nothing. */
export const MIN_INTERVAL_MILLIS = 100

type Options = NonNullable<ParseArgsConfig['options']>

const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  replica: { type: 'string', multiple: true, short: 'r' },
}

/** The flags each command takes; any other is a usage error. */
const OPTIONS: Readonly<Record<CommandName, Options>> = {
  status: { ...COMMON, json: { type: 'boolean' } },
  watch: { ...COMMON, interval: { type: 'string' } },
  route: { ...COMMON, json: { type: 'boolean' } },
  'mirror-check': {
    ...COMMON,
    json: { type: 'boolean' },
    mirror: { type: 'string' },
    tables: { type: 'string' },
  },
}

/**
 * Parses `causeway`'s arguments (without `node` and the script). URLs not given on
 * the command line come from `CAUSEWAY_PRIMARY_URL` and `CAUSEWAY_REPLICA_URLS`;
 * any `--replica` replaces the environment's replicas. Throws a usage
 * {@link CliError} (exit code 2) on anything it does not understand. Pure: the
 * environment is a parameter.
 *
 * @example
 * parseCommand(['status', 'postgres://app@db1/app', '--replica', 'postgres://app@db2/app', '--json'], {})
 * // { kind: 'status', targets: { primary: 'postgres://app@db1/app', replicas: ['postgres://app@db2/app'] }, json: true }
 */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const [name, ...rest] = argv
  if (name === undefined) throw usageError('no command given')
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0]
    return { kind: 'help', topic: topic !== undefined && isCommandName(topic) ? topic : undefined }
  }
  if (!isCommandName(name)) {
    throw usageError(name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}'`)
  }
  const { values, positionals } = parseFlags(name, rest)
  if (values.help === true) return { kind: 'help', topic: name }
  const replicaFlags = values.replica as string[] | undefined
  const json = values.json === true
  switch (name) {
    case 'status':
      return { kind: 'status', targets: requireTargets(name, positionals, replicaFlags, env), json }
    case 'watch':
      return {
        kind: 'watch',
        targets: requireTargets(name, positionals, replicaFlags, env),
        intervalMillis: parseInterval(values.interval as string | undefined),
      }
    case 'route': {
      const [sql, ...urls] = positionals
      if (sql === undefined) throw usageError('route needs the SQL text to classify')
      return { kind: 'route', sql, targets: targetsFrom(name, urls, replicaFlags, env), json }
    }
    case 'mirror-check':
      return {
        kind: 'mirror-check',
        targets: requireTargets(name, positionals, replicaFlags, env),
        mirror: parseMirror(values.mirror as string | undefined),
        tables: parseTables(values.tables as string | undefined),
        json,
      }
  }
}

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_NAMES, name)
}

function parseFlags(name: CommandName, args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS[name], allowPositionals: true, strict: true })
  } catch (error) {
    // Node's messages go on to explain `--`; the first sentence is the one that matters.
    const message = error instanceof Error ? error.message.split('. ')[0]! : String(error)
    throw usageError(`${name}: ${message.replace(/^Unknown option/, 'unknown option')}`)
  }
}

function requireTargets(
  name: CommandName,
  positionals: readonly string[],
  replicaFlags: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
): Targets {
  const targets = targetsFrom(name, positionals, replicaFlags, env)
  if (targets === undefined) {
    throw usageError(`${name} needs the primary's URL (an argument, or ${ENV_PRIMARY_URL})`)
  }
  return targets
}

/** The primary from the one positional URL or the environment; undefined when neither names one. */
function targetsFrom(
  name: CommandName,
  positionals: readonly string[],
  replicaFlags: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
): Targets | undefined {
  // Never echo an argument that may be a URL: it may carry a password.
  if (positionals.length > 1) throw usageError(`${name} takes one primary URL; give replicas with --replica`)
  const primary = positionals[0] ?? env[ENV_PRIMARY_URL]?.trim()
  const replicas = replicaFlags ?? splitUrls(env[ENV_REPLICA_URLS])
  if (!primary) {
    if (replicaFlags !== undefined) throw usageError(`${name}: --replica needs a primary URL too`)
    return undefined
  }
  return { primary, replicas }
}

function parseInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULT_INTERVAL_MILLIS
  const millis = Number(text)
  if (!Number.isInteger(millis) || millis < MIN_INTERVAL_MILLIS) {
    throw usageError(`--interval is a whole number of milliseconds, at least ${MIN_INTERVAL_MILLIS}`)
  }
  return millis
}

/**
 * `--mirror`: a `postgres://` URL, as core takes a mirror. Named `host:port` from
 * here on; the value itself is never echoed, it may hold a password.
 */
function parseMirror(text: string | undefined): MirrorTarget {
  if (text === undefined || text.trim() === '') {
    throw usageError('mirror-check needs --mirror <postgres-url>, the database to compare with the primary')
  }
  let url: URL | undefined
  try {
    url = new URL(text.trim())
  } catch {}
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    throw usageError('--mirror must be a postgres:// URL, such as postgres://app@db9:5432/app')
  }
  // As core names a mirror given without a name, so that both say the same.
  return { url: text.trim(), name: `${url.hostname || 'localhost'}:${url.port || 5432}` }
}

/** `--tables a,b.c`: the names as given (core quotes them on the server); undefined when absent. */
function parseTables(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined
  const tables = text
    .split(',')
    .map((table) => table.trim())
    .filter(Boolean)
  if (tables.length === 0) throw usageError('--tables needs at least one table name (a,b,schema.c)')
  return tables
}
