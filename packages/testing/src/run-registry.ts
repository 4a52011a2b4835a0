import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isRunning, killTreeSync, type ProcessRef, processRef } from './process-tree.js'
import { commandLine, isAlive, startTime } from './processes.js'

/**
 * Where clusters live, and how the leftovers of a crashed run are found.
 *
 * `pg_ctl` is not used: the harness starts `postgres` itself, each server in a
 * session of its own, so servers outlive a test process that dies.
 * Each cluster directory therefore records its owner (pid plus kernel start time,
 * so a reused pid is not mistaken for the owner). A later start removes every
 * cluster whose owner is gone, killing its servers first; a normal exit of the
 * owner process does the same for its own clusters synchronously.
 */
export function defaultRoot(): string {
  const shm = '/dev/shm'
  return existsSync(shm) ? join(shm, 'causeway') : join(tmpdir(), 'causeway')
}

interface Owner {
  readonly pid: number
  readonly startTime: string | undefined
}

const live = new Set<string>()
let exitHookInstalled = false

/** Creates a cluster directory under `root` owned by this process. */
export function createClusterDir(root: string): string {
  mkdirSync(root, { recursive: true, mode: 0o755 })
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  // Made under another name and renamed, so no other process sees it without its owner.
  const scratch = join(root, `.new-${id}`)
  mkdirSync(scratch, { mode: 0o755 })
  const owner: Owner = { pid: process.pid, startTime: startTime(process.pid) }
  writeFileSync(join(scratch, 'owner.json'), JSON.stringify(owner))
  const dir = join(root, `cluster-${id}`)
  renameSync(scratch, dir)
  live.add(dir)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const clusterDir of live) destroyClusterDir(clusterDir)
    })
  }
  return dir
}

/** Kills every server below a cluster directory and removes it. Synchronous, for exit hooks. */
export function destroyClusterDir(dir: string): void {
  killServers(dir)
  rmSync(dir, { recursive: true, force: true })
  live.delete(dir)
}

/** Forgets a directory that was closed normally. */
export function releaseClusterDir(dir: string): void {
  live.delete(dir)
}

/**
 * Stops and removes the clusters of earlier runs whose owner process is gone.
 * Returns how many it removed.
 */
export function cleanLeftovers(root: string): number {
  if (!existsSync(root)) return 0
  let removed = 0
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith('cluster-')) continue
    const dir = join(root, entry)
    if (ownerAlive(dir)) continue
    killServers(dir)
    rmSync(dir, { recursive: true, force: true })
    removed++
  }
  return removed
}

/**
 * Records a helper process (a proxy in front of the servers) in its own directory
 * below a cluster directory, so that the exit hook and the cleanup of a crashed
 * run kill it along with the servers.
 */
export function recordHelperProcess(helperDir: string, ref: ProcessRef): void {
  writeFileSync(join(helperDir, HELPER_FILE), JSON.stringify(ref))
}

const HELPER_FILE = 'process.json'

/**
 * SIGKILLs every process of every server and helper of a cluster directory (a
 * frozen one too) and waits until they are gone. Best effort: a server that
 * outlasts the bound is left, rather than failing the exit hook or the start of
 * an unrelated cluster.
 */
function killServers(dir: string): void {
  for (const root of [...postmasters(dir), ...helpers(dir)]) {
    try {
      killTreeSync(root, { what: dir, timeoutMillis: 5_000 })
    } catch {
      // The HarnessError only names the processes that would not die.
    }
  }
}

function ownerAlive(dir: string): boolean {
  let owner: Owner
  try {
    owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'))
  } catch {
    return false
  }
  return isAlive(owner.pid) && startTime(owner.pid) === owner.startTime
}

/** The postmasters recorded in the node directories of a cluster, still running as postgres. */
function postmasters(dir: string): ProcessRef[] {
  const refs: ProcessRef[] = []
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return refs
  }
  for (const entry of entries) {
    let pid: number
    try {
      pid = Number(readFileSync(join(dir, entry, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    } catch {
      continue
    }
    const ref = pid > 0 && commandLine(pid).includes('postgres') ? processRef(pid) : undefined
    if (ref) refs.push(ref)
  }
  return refs
}

/** The helper processes recorded below a cluster directory that still run (same pid and start time). */
function helpers(dir: string): ProcessRef[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries.flatMap((entry) => {
    try {
      const ref: ProcessRef = JSON.parse(readFileSync(join(dir, entry, HELPER_FILE), 'utf8'))
      return isRunning(ref) ? [ref] : []
    } catch {
      return []
    }
  })
}
