import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Where the generated table types live (committed). */
export const DB_TYPES_FILE = fileURLToPath(new URL('./db.d.ts', import.meta.url))

/**
 * Runs kysely-codegen against a migrated database: writes {@link DB_TYPES_FILE},
 * or with `verify` only checks that it is what codegen produces now (throws if
 * not). The Migrator's own tables are left out: the app never queries them.
 * Both the codegen script and the test call this, so they cannot drift apart.
 */
export function runCodegen(databaseUrl: string, options: { verify?: boolean } = {}): string {
  const args = [
    '--dialect',
    'postgres',
    '--out-file',
    DB_TYPES_FILE,
    '--exclude-pattern',
    'kysely_migration*',
    '--log-level',
    'warn',
  ]
  if (options.verify) args.push('--verify')
  // The URL goes in the environment, not argv, so that no process list shows it.
  // This package's own kysely-codegen, found without PATH (vitest runs from the root).
  return execFileSync(fileURLToPath(new URL('../node_modules/.bin/kysely-codegen', import.meta.url)), args, {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}
