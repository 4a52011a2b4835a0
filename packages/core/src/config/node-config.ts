import { z } from 'zod'

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

const postgresUrl = z.string().refine(
  (text) => {
    try {
      return ['postgres:', 'postgresql:'].includes(new URL(text).protocol)
    } catch {
      return false
    }
  },
  // The value itself is never echoed: it may hold a password.
  { message: 'must be a postgres:// or postgresql:// URL' },
)

const nodeObject = z
  .object({
    name: z.string().min(1).max(63).optional(),
    weight: z.number().positive().finite().optional(),
    connectionString: postgresUrl.optional(),
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

/** A node: a `postgres://` URL, or `pg` pool options plus an optional `name` and `weight`. */
export const nodeConfigSchema = z.union([postgresUrl, nodeObject], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'must be a postgres:// URL or an object of pg pool options' : undefined,
})

/** A node as given: a URL, or `pg` pool options plus `name` and `weight`. */
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
