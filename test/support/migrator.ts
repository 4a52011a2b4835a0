// Kysely 0.29 moved the Migrator to 'kysely/migration' and left only a type error in
// its place in 'kysely'; 0.28 has no 'kysely/migration'. The tests run against both,
// so they load it by name at run time, and type the part they use.
import type { Kysely } from 'kysely'

// A migration sees the database untyped, as with Kysely's own `Migration` type.
// biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration takes Kysely<any>
type AnyKysely = Kysely<any>

/** One migration, as both versions define it. */
export interface MigrationLike {
  up(db: AnyKysely): Promise<void>
  down?(db: AnyKysely): Promise<void>
}

/** The Migrator's constructor options that these tests pass. */
export interface MigratorOptions {
  readonly db: AnyKysely
  readonly provider: { getMigrations(): Promise<Record<string, MigrationLike>> }
  readonly migrationTableName?: string
  readonly migrationLockTableName?: string
}

/** The part of Kysely's Migrator these tests use, the same in 0.28 and 0.29. */
export interface MigratorLike {
  migrateToLatest(): Promise<{
    error?: unknown
    results?: readonly { migrationName: string; status: 'Success' | 'Error' | 'NotExecuted' }[]
  }>
}

// A string, not a literal: against 0.28 the compiler would reject the missing module.
const MIGRATION_MODULE: string = 'kysely/migration'

/** A Kysely Migrator from whichever of 'kysely/migration' (0.29) or 'kysely' (0.28) has it. */
export async function createMigrator(options: MigratorOptions): Promise<MigratorLike> {
  const module: { Migrator?: unknown } = await import(MIGRATION_MODULE).catch(() => import('kysely'))
  const Migrator = module.Migrator as new (options: MigratorOptions) => MigratorLike
  return new Migrator(options)
}
