import { execFileSync } from 'node:child_process'
import { HarnessError } from './harness-error.js'

/** The OS account the servers run under. */
export interface OsUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

const SERVER_USER = 'postgres'

/**
 * The account to run PostgreSQL under, or `undefined` to run as the caller.
 * PostgreSQL refuses to start as root, so a root caller runs the servers as
 * `postgres`, which is created when missing.
 */
export function serverUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined
  let ids = lookup(SERVER_USER)
  if (!ids) {
    try {
      execFileSync(
        'useradd',
        ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVER_USER],
        {
          stdio: 'pipe',
        },
      )
    } catch (cause) {
      throw new HarnessError(
        `running as root, and could not create the OS user "${SERVER_USER}" for PostgreSQL`,
        {
          cause,
        },
      )
    }
    ids = lookup(SERVER_USER)
    if (!ids) throw new HarnessError(`created the OS user "${SERVER_USER}", but cannot find it`)
  }
  return ids
}

function lookup(name: string): OsUser | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { stdio: 'pipe' }).toString().trim())
    const gid = Number(execFileSync('id', ['-g', name], { stdio: 'pipe' }).toString().trim())
    return { name, uid, gid }
  } catch {
    return undefined
  }
}
