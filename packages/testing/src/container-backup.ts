import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import * as tar from 'tar-stream'
import { BACKUP_EXCLUDES } from './copy-data-dir.js'

/** The data directory in every container: the same path in the official image and a compatible one. */
export const PGDATA = '/var/lib/postgresql/causeway'

/** An online base backup of a container's data directory, held in memory. */
export interface BaseBackup {
  /** The data directory as a tar archive (entries `causeway/…`), without what a base backup leaves out. */
  readonly archive: Buffer
  /** The `backup_label` that `pg_backup_stop` returned. */
  readonly label: string
}

/** A running container whose data directory can be read through the engine's API. */
export interface BackupSource {
  readonly url: string
  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream>
}

/**
 * Takes a base backup through the container API alone, so that a remote engine
 * works too (no shared file system, no `pg_basebackup` in the image):
 * `pg_backup_start`, the data directory copied out as a tar archive, then
 * `pg_backup_stop` for the label. The backup API needs one session from start to stop.
 */
export async function takeBaseBackup(source: BackupSource, label: string): Promise<BaseBackup> {
  const session = new pg.Client({ connectionString: source.url })
  session.on('error', () => {})
  await session.connect()
  try {
    await session.query('select pg_backup_start($1, true)', [label])
    const archive = await filterArchive(await source.copyArchiveFromContainer(PGDATA))
    const { rows } = await session.query<{ labelfile: string }>('select labelfile from pg_backup_stop(false)')
    return { archive, label: rows[0]?.labelfile ?? '' }
  } finally {
    await session.end().catch(() => {})
  }
}

/**
 * The archive of a new standby: the backup, plus `backup_label`, `standby.signal`
 * and its own `postgresql.auto.conf`. The added files get the owner of the data
 * directory: written as root by the engine's copy, PostgreSQL could not open
 * `backup_label` read-write in an image that runs as `postgres`.
 */
export function standbyArchive(backup: BaseBackup, autoConf: string): Readable {
  const pack = tar.pack()
  const extract = tar.extract()
  let owner: { uid?: number; gid?: number } = {}
  extract.on('entry', (header, stream, next) => {
    if (header.type === 'directory' && posix.normalize(header.name).replace(/\/$/, '') === rootName()) {
      owner = { uid: header.uid, gid: header.gid }
    }
    stream.pipe(pack.entry(header, next))
  })
  extract.on('finish', () => {
    const add = (name: string, content: string) =>
      pack.entry({ name: `${rootName()}/${name}`, mode: 0o600, ...owner }, content)
    add('backup_label', backup.label)
    add('standby.signal', '')
    add('postgresql.auto.conf', autoConf)
    pack.finalize()
  })
  extract.on('error', (error) => pack.destroy(error))
  extract.end(backup.archive)
  return pack as unknown as Readable
}

/** The name of the data directory's own entry in the archive. */
const rootName = () => posix.basename(PGDATA)

/** Files a standby must not inherit: its own `postgresql.auto.conf` replaces the source's. */
const STANDBY_EXCLUDES = new Set([...BACKUP_EXCLUDES, 'postgresql.auto.conf', 'tablespace_map'])

/**
 * Drops what a base backup leaves out (the postmaster's pid, WAL, slots…; a
 * `dir/` exclude keeps the directory itself, empty) and collects the rest.
 */
async function filterArchive(input: NodeJS.ReadableStream): Promise<Buffer> {
  const extract = tar.extract()
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (chunk) => chunks.push(chunk as Buffer))
  const packed = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve)
    pack.on('error', reject)
  })
  extract.on('entry', (header, stream, next) => {
    if (excluded(header.name)) {
      stream.resume()
      stream.on('end', next)
      return
    }
    stream.pipe(pack.entry(header, next))
  })
  await pipeline(Readable.from(input as AsyncIterable<Buffer>), extract)
  pack.finalize()
  await packed
  return Buffer.concat(chunks)
}

function excluded(name: string): boolean {
  const parts = posix.normalize(name).replace(/\/$/, '').split('/')
  const relative = parts.slice(1)
  if (relative.length === 0) return false
  const file = relative.join('/')
  if (STANDBY_EXCLUDES.has(file)) return true
  // Inside an excluded directory: the directory's own entry stays, its contents go.
  return relative.length > 1 && STANDBY_EXCLUDES.has(`${relative[0]}/`)
}
