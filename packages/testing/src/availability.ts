import { execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/**
 * Whether a helper program (HAProxy, PgBouncer) can run on this machine, and if not,
 * why: a test that needs it is then skipped with that reason, not failed.
 */
export type Availability = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/** Debian installs daemons into sbin directories, which a non-root `PATH` often lacks. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin']

/** The path of an executable program, from `PATH` and then the sbin directories, or undefined. */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS]
  for (const dir of dirs) {
    const path = join(dir, name)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // not here
    }
  }
  return undefined
}

/**
 * Whether `program` is installed and runs (`program …versionArgs` exits 0).
 * Synchronous, so that a test file can decide at load time what to skip.
 */
export function programAvailability(
  program: string,
  debianPackage: string,
  versionArgs: readonly string[],
): Availability {
  const path = findProgram(program)
  if (!path) {
    return {
      ok: false,
      reason: `${program} is not installed (apt-get install ${debianPackage}; .ci/run installs it)`,
    }
  }
  try {
    execFileSync(path, versionArgs, { stdio: 'pipe', timeout: 5_000 })
    return { ok: true }
  } catch (error) {
    return { ok: false, reason: `${path} ${versionArgs.join(' ')} failed: ${(error as Error).message}` }
  }
}

/** Why a program is unavailable, for an error message. */
export function unavailableReason(availability: Availability): string {
  return availability.ok ? 'available' : availability.reason
}
