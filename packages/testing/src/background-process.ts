import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import type { OsUser } from './os-user.js'
import { killTree, type ProcessRef, processRef } from './process-tree.js'
import { recordHelperProcess } from './run-registry.js'

/** Bound on stopping, killing and reaping one process tree. */
const KILL_WAIT_MILLIS = 5_000

/** How to run a long-lived program (etcd, Patroni) in the background. */
export interface BackgroundLaunch {
  /** For messages: `etcd`, `patroni pg1`. */
  readonly what: string
  readonly program: string
  readonly args: readonly string[]
  /** The directory the process is recorded in (for the run registry's sweep), and its log. */
  readonly dir: string
  readonly logFile: string
  readonly user: OsUser | undefined
  readonly env?: NodeJS.ProcessEnv
}

/**
 * A program started in a session of its own (like the embedded servers: a Ctrl-C
 * to the test run does not race `close()`), with its output in a log file, and
 * recorded below a run directory so that the exit hook and the cleanup of a
 * crashed run kill it and everything it started.
 */
export class BackgroundProcess {
  readonly what: string
  readonly pid: number
  readonly #child: ChildProcess
  readonly #ref: ProcessRef | undefined
  readonly #logFile: string
  readonly #exited: Promise<void>
  #exit: string | undefined

  constructor(launch: BackgroundLaunch) {
    this.what = launch.what
    this.#logFile = launch.logFile
    const log = openSync(launch.logFile, 'a')
    try {
      this.#child = spawn(launch.program, launch.args, {
        detached: true,
        stdio: ['ignore', log, log],
        uid: launch.user?.uid,
        gid: launch.user?.gid,
        env: launch.env,
      })
    } finally {
      closeSync(log)
    }
    this.#child.unref()
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = String(code ?? signal)
        resolve()
      })
      this.#child.once('error', (error) => {
        this.#exit = error.message
        resolve()
      })
    })
    this.pid = this.#child.pid ?? -1
    this.#ref = processRef(this.pid)
    if (this.#ref) recordHelperProcess(launch.dir, this.#ref)
  }

  /** How the process exited (code or signal), or undefined while it runs. */
  get exit(): string | undefined {
    return this.#exit
  }

  /** Sends `signal` and resolves once the process exited, or after `timeoutMillis` with false. */
  async stop(signal: NodeJS.Signals, timeoutMillis: number): Promise<boolean> {
    if (this.#exit !== undefined) return true
    this.#child.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const exited = await Promise.race([
      this.#exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMillis)
      }),
    ])
    clearTimeout(timer)
    return exited
  }

  /** SIGKILLs the process and every descendant, and resolves once none of them runs. */
  async kill(): Promise<void> {
    if (this.#ref && this.#exit === undefined) {
      await killTree(this.#ref, { what: this.what, timeoutMillis: KILL_WAIT_MILLIS })
    }
  }

  /** The last lines of the process's log. */
  logTail(lines = 25): string {
    try {
      return readFileSync(this.#logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }
}
