import { z } from 'zod'
import { CausewayError } from '../errors/causeway-error.js'
import { parseConninfo } from './conninfo.js'

/** The `pg` connection and pool options a node may carry, besides `name` and `weight`. */
const PG_OPTION_KEYS = [
  'connectionString',
  'host',
  'port',
  'user',
  'password',
  'database',
  'ssl',
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'statement_timeout',
  'query_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'connectionTimeoutMillis',
  'keepAlive',
  'keepAliveInitialDelayMillis',
  'types',
  'binary',
  'stream',
  'enableChannelBinding',
  'max',
  'min',
  'idleTimeoutMillis',
  'maxUses',
  'maxLifetimeSeconds',
  'allowExitOnIdle',
  'log',
  'Client',
  'Promise',
] as const

/**
 * A libpq connection string: a `postgres://` URL or key/value pairs, with one host
 * or several. The problem is named, the value never echoed: it may hold a password.
 */
const connectionString = z.string().superRefine((text, context) => {
  try {
    parseConninfo(text)
  } catch (error) {
    if (!(error instanceof CausewayError)) throw error
    context.addIssue({ code: 'custom', message: error.message })
  }
})

const nodeObject = z
  .object({
    name: z.string().min(1).max(63).optional(),
    weight: z.number().positive().finite().optional(),
    connectionString: connectionString.optional(),
    host: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    ...Object.fromEntries(
      PG_OPTION_KEYS.filter((key) => !['connectionString', 'host', 'port'].includes(key)).map((key) => [
        key,
        z.unknown().optional(),
      ]),
    ),
  })
  .strict()

/**
 * A node entry: a connection string (a `postgres://` URL or libpq key/value pairs,
 * one host or several), or `pg` pool options plus an optional `name` and `weight`.
 */
export const nodeConfigSchema = z.union([connectionString, nodeObject], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'must be a connection string (postgres:// URL or key/value) or an object of pg pool options'
      : undefined,
})

/**
 * A node entry as given: a connection string, or `pg` pool options plus `name` and
 * `weight`. A connection string (alone or as `connectionString`) may list several
 * hosts (`postgres://h1:5432,h2:5433/app`, `host=h1,h2 port=5432,5433`): each host
 * becomes a node of its own, named `<name>-<host:port>`, or `host:port` without a name.
 */
export type NodeConfig =
  | string
  | (Record<string, unknown> & {
      readonly name?: string
      readonly weight?: number
      readonly connectionString?: string
      readonly host?: string
      readonly port?: number
      readonly password?: unknown
    })
