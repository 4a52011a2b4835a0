import { setTimeout as sleep } from 'node:timers/promises'
import { HarnessError } from './harness-error.js'
import { allPids, parentPid, processState, signal, startTime } from './processes.js'

/**
 * Signals to every process of a PostgreSQL server, not just the postmaster.
 *
 * Each child of the postmaster (backend, checkpointer, walsender…) calls
 * `setsid()` at birth, so a signal to the postmaster's process group reaches the
 * postmaster alone. The processes are found instead by walking `/proc` from the
 * postmaster down, and to keep that walk free of races each level is stopped
 * (SIGSTOP) before its children are listed: a stopped process forks nothing, and
 * reaps nothing either, so a child of it that exits stays a zombie and its pid
 * cannot be reused for an unrelated process that would then get our signal.
 */

/** A process as seen once: its pid and kernel start time, so a reused pid is not taken for it. */
export interface ProcessRef {
  readonly pid: number
  readonly startTime: string
}

/** What a tree operation is about, for errors, and how long it may wait. */
export interface TreeWait {
  readonly what: string
  readonly timeoutMillis: number
}

/** A reference to a running process, or undefined when there is none with this pid. */
export function processRef(pid: number): ProcessRef | undefined {
  const started = startTime(pid)
  return started === undefined ? undefined : { pid, startTime: started }
}

/** Whether the process still runs: same pid and start time, and not a zombie. */
export function isRunning(ref: ProcessRef): boolean {
  const state = processState(ref.pid)
  return state !== undefined && state !== 'Z' && state !== 'X' && startTime(ref.pid) === ref.startTime
}

/**
 * The root and its descendants as they are now, without stopping anything: a
 * snapshot to wait on, never to signal (its pids may be reused meanwhile).
 */
export function listTree(root: ProcessRef): ProcessRef[] {
  const tree: ProcessRef[] = []
  for (let level = isRunning(root) ? [root] : []; level.length > 0; level = childrenOf(level)) {
    tree.push(...level)
  }
  return tree
}

/**
 * Stops (SIGSTOP) the root and every descendant, root first so that nothing new is
 * forked, and resolves with them in that order once all of them are stopped.
 * On a timeout, resumes what it stopped and fails.
 */
export async function stopTree(root: ProcessRef, wait: TreeWait): Promise<ProcessRef[]> {
  const stopped: ProcessRef[] = []
  const deadline = Date.now() + wait.timeoutMillis
  for (const _ of stopSteps(root, stopped)) {
    if (Date.now() > deadline) throw stopTimeout(stopped, wait)
    await sleep(2)
  }
  return stopped
}

/** {@link stopTree} that blocks, for exit hooks and the synchronous cleanup of leftovers. */
export function stopTreeSync(root: ProcessRef, wait: TreeWait): ProcessRef[] {
  const stopped: ProcessRef[] = []
  const deadline = Date.now() + wait.timeoutMillis
  for (const _ of stopSteps(root, stopped)) {
    if (Date.now() > deadline) throw stopTimeout(stopped, wait)
    Atomics.wait(sleeper, 0, 0, 2)
  }
  return stopped
}

/**
 * Resumes (SIGCONT) processes stopped by {@link stopTree}, deepest first: while a
 * parent is still stopped, its children's pids stay theirs.
 */
export function continueAll(stopped: readonly ProcessRef[]): void {
  for (const ref of [...stopped].reverse()) if (isRunning(ref)) signal(ref.pid, 'SIGCONT')
}

/**
 * SIGKILLs the root and every descendant and resolves once none of them runs.
 * Everything is stopped first, so that no process forks or dies unseen while the
 * tree is walked; the kills then go deepest first, for the same reason as in
 * {@link continueAll}.
 */
export async function killTree(root: ProcessRef, wait: TreeWait): Promise<void> {
  const stopped = await stopTree(root, wait)
  for (const ref of [...stopped].reverse()) signal(ref.pid, 'SIGKILL')
  await waitGone(stopped, wait)
}

/** {@link killTree} that blocks, for exit hooks and the synchronous cleanup of leftovers. */
export function killTreeSync(root: ProcessRef, wait: TreeWait): void {
  const stopped = stopTreeSync(root, wait)
  for (const ref of [...stopped].reverse()) signal(ref.pid, 'SIGKILL')
  const deadline = Date.now() + wait.timeoutMillis
  while (stopped.some(isRunning)) {
    if (Date.now() > deadline) throw goneTimeout(stopped, wait)
    Atomics.wait(sleeper, 0, 0, 2)
  }
}

/** Resolves once none of the processes runs; fails after the timeout, naming those left. */
export async function waitGone(refs: readonly ProcessRef[], wait: TreeWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMillis
  while (refs.some(isRunning)) {
    if (Date.now() > deadline) throw goneTimeout(refs, wait)
    await sleep(2)
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * Stops the tree level by level into `stopped`, yielding while a level has not
 * stopped yet. Children are listed only once their parent is seen stopped: before
 * that it could still fork.
 */
function* stopSteps(root: ProcessRef, stopped: ProcessRef[]): Generator<void> {
  let level = isRunning(root) ? [root] : []
  while (level.length > 0) {
    for (const ref of level) signal(ref.pid, 'SIGSTOP')
    stopped.push(...level)
    // The signal is pending until the process is next scheduled; T is its stop.
    while (level.some((ref) => isRunning(ref) && processState(ref.pid) !== 'T')) yield
    level = childrenOf(level)
  }
}

/** The running children of the given processes, from one pass over `/proc`. */
function childrenOf(parents: readonly ProcessRef[]): ProcessRef[] {
  const pids = new Set(parents.map((ref) => ref.pid))
  return allPids().flatMap((pid) => {
    const parent = parentPid(pid)
    const ref = parent !== undefined && pids.has(parent) ? processRef(pid) : undefined
    return ref && isRunning(ref) ? [ref] : []
  })
}

function stopTimeout(stopped: readonly ProcessRef[], wait: TreeWait): HarnessError {
  const stuck = stopped.filter((ref) => isRunning(ref) && processState(ref.pid) !== 'T')
  continueAll(stopped)
  return new HarnessError(
    `timed out after ${wait.timeoutMillis} ms stopping the processes of ${wait.what}: ${pidList(stuck)} did not stop`,
  )
}

function goneTimeout(refs: readonly ProcessRef[], wait: TreeWait): HarnessError {
  const left = refs.filter(isRunning)
  return new HarnessError(
    `timed out after ${wait.timeoutMillis} ms waiting for the processes of ${wait.what} to exit: ${pidList(left)} still run`,
  )
}

function pidList(refs: readonly ProcessRef[]): string {
  return refs.length === 0 ? 'none' : `pid ${refs.map((ref) => ref.pid).join(', ')}`
}
