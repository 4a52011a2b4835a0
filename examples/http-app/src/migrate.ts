import type { Cluster } from '@causeway/core'
import { type AnyKysely, type Migration, migrations } from './migrations.js'

/** What one migration did, as Kysely's Migrator reports it. */
export interface MigrationResult {
  readonly migrationName: string
  readonly status: 'Success' | 'Error' | 'NotExecuted'
}

interface MigratorLike {
  migrateToLatest(): Promise<{ error?: unknown; results?: readonly MigrationResult[] }>
}

// Kysely 0.29 moved the Migrator to 'kysely/migration'; 0.28 has no such entry and
// exports it from 'kysely'. A string variable, not a literal, so that the compiler
// accepts the import against either version.
const MIGRATION_MODULE: string = 'kysely/migration'

/**
 * Brings the database to the latest migration, on the primary: inside
 * `cluster.onPrimary`, every statement the Migrator makes (its lock, its history
 * reads, the DDL) goes to the primary, although Kysely runs it `withoutPlugins()`.
 * A replica that has not replayed the history table yet would otherwise answer
 * the Migrator's reads. Throws the Migrator's error if a migration failed.
 */
export async function migrateToLatest(cluster: Cluster, db: AnyKysely): Promise<MigrationResult[]> {
  const module: { Migrator?: unknown } = await import(MIGRATION_MODULE).catch(() => import('kysely'))
  const Migrator = module.Migrator as new (options: {
    db: AnyKysely
    provider: { getMigrations(): Promise<Record<string, Migration>> }
  }) => MigratorLike
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results = [] } = await cluster.onPrimary(() => migrator.migrateToLatest())
  if (error) throw error
  return [...results]
}
