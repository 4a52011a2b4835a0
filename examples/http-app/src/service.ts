import { type Cluster, createCluster } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { registerCausewayMetrics } from '@causeway/prometheus'
import type { FastifyInstance } from 'fastify'
import { Kysely } from 'kysely'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { buildApp } from './app.js'
import type { DB } from './db.js'
import { type MigrationResult, migrateToLatest } from './migrate.js'
import { serverNames } from './served-by.js'

/** A PostgreSQL server the service is configured with. */
export interface ServerAddress {
  readonly name: string
  /** A `postgres://` connection string. */
  readonly url: string
  /** Its port, which names it in `served_by`. */
  readonly port: number
}

/** A running service. */
export interface Service {
  readonly app: FastifyInstance
  /** `http://host:port`. */
  readonly base: string
  readonly cluster: Cluster
  readonly db: Kysely<DB>
  readonly registry: Registry
  /** What the migration run at start did. */
  readonly migrations: readonly MigrationResult[]
  /** Stops serving, then closes the pools. */
  close(): Promise<void>
}

/**
 * Starts the service on a primary and its replicas: the cluster (requests read
 * their own writes through their tokens only: `scope: 'session'`), its metrics,
 * the migrations (on the primary), then the HTTP server.
 */
export async function startService(options: {
  readonly primary: ServerAddress
  readonly replicas: readonly ServerAddress[]
  readonly port?: number
  readonly host?: string
}): Promise<Service> {
  const cluster = createCluster({
    primary: { connectionString: options.primary.url, name: options.primary.name },
    replicas: options.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    // Each request continues from the token it was handed, not from whatever this
    // process wrote last: that is what a client on another instance would see.
    consistency: { scope: 'session' },
  })
  // The app owns the cluster ({ cluster }), so that metrics and sessions see the same one.
  const db = new Kysely<DB>({ dialect: new CausewayDialect({ cluster }) })
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const metrics = registerCausewayMetrics(cluster, { registry })
  try {
    const migrations = await migrateToLatest(cluster, db)
    const app = await buildApp({
      db,
      cluster,
      registry,
      servedBy: serverNames([options.primary, ...options.replicas]),
    })
    const base = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
    return {
      app,
      base,
      cluster,
      db,
      registry,
      migrations,
      async close() {
        await app.close()
        metrics.unregister()
        await db.destroy()
        await cluster.close()
      },
    }
  } catch (error) {
    metrics.unregister()
    await db.destroy()
    await cluster.close()
    throw error
  }
}
