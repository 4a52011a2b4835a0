import { z } from 'zod'
import { type PgDriver, peerPgDriver } from '../driver/pg-driver.js'
import { CausewayError } from '../errors/causeway-error.js'
import type { BalancerFunction } from '../model/balancer.js'
import type { FailoverLock } from '../model/failover-lock.js'
import { expandNode, type NodeRole } from './expand-node.js'
import { mirrorsSchema } from './mirror-schema.js'
import { type NodeConfig, nodeConfigSchema } from './node-config.js'

const millis = z.number().int().nonnegative().finite()
const secret = z.string().min(16, 'must be at least 16 characters')

/**
 * A duration under its current name, or under the older name it replaced (both
 * given and different is an error naming the old one). The output has the
 * current name only.
 */
function renamed<Current extends string, Old extends string>(current: Current, old: Old) {
  return (value: Record<string, unknown>, context: z.RefinementCtx) => {
    if (value[old] !== undefined && value[current] !== undefined && value[old] !== value[current]) {
      context.addIssue({
        code: 'custom',
        path: [old],
        message: `is the old name of ${current}, which is also set, to another value`,
      })
    }
  }
}

/** `sync`, as given: `timeoutMs` is the deprecated name of `timeoutMillis`. */
export const syncSchema = z
  .object({
    replicas: z.union([z.literal('all'), z.number().int().positive()]).default('all'),
    timeoutMillis: millis.optional(),
    timeoutMs: millis.optional(),
    onTimeout: z.enum(['error', 'continue']).default('error'),
    method: z.enum(['client', 'server']).default('client'),
  })
  .strict()
  .superRefine(renamed('timeoutMillis', 'timeoutMs'))
  .transform(({ timeoutMs, timeoutMillis, ...rest }) => ({
    ...rest,
    timeoutMillis: timeoutMillis ?? timeoutMs ?? 1_000,
  }))

/** A Patroni REST API base URL: http or https, credentials allowed (sent as basic auth, never shown). */
const patroniUrl = z.string().superRefine((text, context) => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    context.addIssue({ code: 'custom', message: 'is not a URL (expected http://host:8008)' })
    return
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    context.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL of a Patroni REST API' })
  }
})

/** `patroni`: follow a Patroni cluster's view of its members beside the probes. */
export const patroniSchema = z
  .object({
    urls: z.array(patroniUrl).min(1, 'must list at least one Patroni REST API URL'),
    intervalMillis: z.number().int().min(10).default(500),
    timeoutMillis: z.number().int().min(10).default(1_000),
    discover: z.boolean().default(false),
  })
  .strict()

/** A node entry, expanded into one node per host ({@link expandNode}); a problem is named at the entry. */
const nodeEntry = (role: NodeRole) =>
  nodeConfigSchema.transform((config, context): NodeConfig[] => {
    try {
      return expandNode(config as NodeConfig, role)
    } catch (error) {
      if (!(error instanceof CausewayError)) throw error
      const path = typeof config === 'string' ? [] : ['connectionString']
      context.addIssue({ code: 'custom', path, message: error.message })
      return z.NEVER
    }
  })

/** A replica entry as `addReplica` takes it: validated, one node per host. */
export const replicaEntrySchema = nodeEntry('replica')

const pgClass = <C>(name: string) =>
  z.custom<C>((value) => typeof value === 'function', { message: `must be a class (pg's ${name})` })

// Only the classes are read and kept: the module object itself is never copied.
const pgDriverSchema = z.object(
  { Pool: pgClass<PgDriver['Pool']>('Pool'), Client: pgClass<PgDriver['Client']>('Client') },
  { error: "must be the pg module (import pg from 'pg'), or an object with its Pool and Client classes" },
)

/**
 * The configuration schema, and the one place its defaults are written: an
 * omitted section is parsed as `{}`, so its keys take their own defaults.
 */
export const clusterConfigSchema = z
  .object({
    /** The primary's candidates: one node per host of the entry, the first being the configured primary. */
    primary: nodeEntry('primary'),
    /** One list of nodes per entry (one node per host). */
    replicas: z.array(replicaEntrySchema).default([]),
    pool: z
      .object({
        max: z.number().int().positive().default(10),
        idleTimeoutMillis: millis.default(10_000),
        connectionTimeoutMillis: millis.default(5_000),
        maxLifetimeSeconds: z.number().int().nonnegative().optional(),
      })
      .strict()
      .prefault({}),
    balancer: z
      .union([
        z.enum(['least-busy', 'round-robin', 'random', 'fastest']),
        z.custom<BalancerFunction>((v) => typeof v === 'function'),
      ])
      .default('least-busy'),
    maxLag: z
      .object({
        bytes: z.number().nonnegative().optional(),
        millis: z.number().nonnegative().optional(),
        ms: z.number().nonnegative().optional(),
      })
      .strict()
      .superRefine(renamed('millis', 'ms'))
      .transform(({ bytes, millis, ms }) => ({ bytes, millis: millis ?? ms }))
      .optional(),
    consistency: z
      .object({
        scope: z.enum(['process', 'session']).default('process'),
        capture: z.enum(['lazy', 'eager']).default('eager'),
        maxWaitMillis: millis.default(50),
        replayPollMillis: z.number().int().min(1).default(5),
        reuseProofs: z.boolean().default(true),
        tokenSecret: z.union([secret, z.array(secret).min(1)]).optional(),
      })
      .strict()
      .prefault({}),
    sync: syncSchema.optional(),
    health: z
      .object({
        intervalMillis: z.number().int().min(10).default(500),
        timeoutMillis: z.number().int().min(10).default(1_000),
        downAfter: z.number().int().positive().default(3),
        upAfter: z.number().int().positive().default(2),
        maxBackoffMillis: z.number().int().min(10).default(5_000),
      })
      .strict()
      .prefault({}),
    systemId: z
      .string()
      .regex(/^[0-9]{1,20}$/, 'must be the decimal system identifier of pg_control_system()')
      .optional(),
    failover: z.enum(['follow', 'auto', 'off']).default('follow'),
    autoFailover: z
      .object({
        primaryDownMillis: millis.default(1_000),
        lock: z.custom<FailoverLock>((v) => typeof v === 'object' && v !== null && 'acquire' in v).optional(),
        singleProcess: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    writeWaitMillis: millis.default(2_000),
    pg: pgDriverSchema.default(peerPgDriver),
    patroni: patroniSchema.optional(),
    mirrors: mirrorsSchema,
  })
  .strict()
  .superRefine(({ primary, systemId, failover, autoFailover, patroni }, context) => {
    // Patroni decides promotions; a second decider (or none) would fight it.
    if (patroni && failover !== 'follow') {
      context.addIssue({
        code: 'custom',
        path: ['failover'],
        message: `is '${failover}', but patroni is set: Patroni decides who leads, so use 'follow'`,
      })
    }
    // The default lock excludes promotions within one process only: two processes
    // running `auto` could each promote a different replica and split the cluster.
    if (failover === 'auto' && !autoFailover.lock && !autoFailover.singleProcess) {
      context.addIssue({
        code: 'custom',
        path: ['failover'],
        message:
          "is 'auto', which needs autoFailover.lock, a lock every app process shares (EtcdFailoverLock of @causeway/etcd), or autoFailover.singleProcess: true when this is the only process running it",
      })
    }
    if (primary.length < 2) return
    // Which candidate defines the cluster's identity? Whichever answers first as a
    // primary could be another cluster's server listed by mistake, and a write
    // committed there is lost to ours: so the identity must be given.
    if (systemId === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['primary'],
        message:
          'lists several hosts, so systemId must be set (select system_identifier from pg_control_system()): only nodes of that system are trusted, whichever host answers first',
      })
    }
    if (failover === 'off') {
      context.addIssue({
        code: 'custom',
        path: ['failover'],
        message:
          "is 'off', but primary lists several hosts: use 'follow' (or 'auto') to follow the writable one",
      })
    }
  })

/** The configuration with every default filled in. */
export type ResolvedConfig = z.output<typeof clusterConfigSchema>

/** A resolved `sync` setting. */
export type ResolvedSync = z.output<typeof syncSchema>
