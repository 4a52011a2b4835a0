import { chown, copyFile, mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { OsUser } from './os-user.js'

/**
 * What an online base backup leaves out (PostgreSQL's own list, in brief): the
 * postmaster's pid and options, WAL segments (streamed instead), replication slots
 * and temporary statistics.
 */
export const BACKUP_EXCLUDES: ReadonlySet<string> = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'pg_wal/',
  'pg_replslot/',
  'pg_stat_tmp/',
  'pg_dynshmem/',
  'backup_label',
  'standby.signal',
])

/**
 * Copies a data directory file by file, keeping modes and giving every entry to
 * `owner`. Entries listed in `excludes` (a file name, or `dir/` for "the directory,
 * empty") are skipped. Files that vanish mid-copy are skipped too: on a running
 * server that is expected, and the backup's WAL replay repairs it.
 */
export async function copyDataDir(
  from: string,
  to: string,
  owner: OsUser | undefined,
  excludes: ReadonlySet<string> = new Set(),
  relative = '',
): Promise<void> {
  const info = await stat(from)
  await mkdir(to, { recursive: true, mode: info.mode & 0o777 })
  if (owner) await chown(to, owner.uid, owner.gid)
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(from, { withFileTypes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  await Promise.all(
    entries.map(async (entry) => {
      const name = relative + entry.name
      const source = join(from, entry.name)
      const target = join(to, entry.name)
      if (entry.isDirectory()) {
        if (excludes.has(`${name}/`)) {
          await mkdir(target, { mode: 0o700 })
          if (owner) await chown(target, owner.uid, owner.gid)
          return
        }
        await copyDataDir(source, target, owner, excludes, `${name}/`)
        return
      }
      if (excludes.has(name)) return
      try {
        await copyFile(source, target)
        if (owner) await chown(target, owner.uid, owner.gid)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
    }),
  )
}
