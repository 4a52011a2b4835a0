import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { chown, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { PgBinaries } from './binaries.js'
import { copyDataDir } from './copy-data-dir.js'
import { HarnessError } from './harness-error.js'
import type { OsUser } from './os-user.js'
import {
  continueAll,
  killTree,
  listTree,
  type ProcessRef,
  processRef,
  stopTree,
  waitGone,
} from './process-tree.js'
import { queryOnce } from './query-once.js'
import { renderSettings, type SettingValue } from './server-config.js'
import { waitFor } from './wait-for.js'

const run = promisify(execFile)

/** Bound on stopping, killing and reaping the processes of one server. */
const KILL_WAIT_MILLIS = 5_000

/** How a server is shut down: PostgreSQL's smart, fast or immediate shutdown. */
export type StopMode = 'smart' | 'fast' | 'immediate'

const STOP_SIGNAL: Record<StopMode, NodeJS.Signals> = {
  smart: 'SIGTERM',
  fast: 'SIGINT',
  immediate: 'SIGQUIT',
}

/** What every server of one cluster shares. */
export interface ServerContext {
  readonly binaries: PgBinaries
  readonly user: OsUser | undefined
  readonly password: string
  readonly startTimeoutMillis: number
}

/**
 * One PostgreSQL server process and its data directory. The harness runs
 * `postgres` itself rather than through `pg_ctl`, in a session of its own: that
 * gives it the pid and the exit, and keeps the server alive after a test process
 * that dies. Signals meant for the whole server go to the postmaster's process
 * tree (see process-tree.ts), since every child starts a session of its own.
 */
export class PgServer {
  readonly name: string
  readonly port: number
  readonly dir: string
  readonly dataDir: string
  readonly logFile: string
  readonly #context: ServerContext
  #child: ChildProcess | undefined
  /** The postmaster, by pid and start time, for the signals to its tree. */
  #postmaster: ProcessRef | undefined
  #exited: Promise<void> | undefined
  /** The processes {@link freeze} stopped, until {@link thaw}. */
  #frozen: readonly ProcessRef[] | undefined

  constructor(name: string, port: number, dir: string, context: ServerContext) {
    this.name = name
    this.port = port
    this.dir = dir
    this.dataDir = join(dir, 'data')
    this.logFile = join(dir, 'server.log')
    this.#context = context
  }

  /** A `postgres://` URL for the `postgres` superuser, with its password. */
  get url(): string {
    return `postgres://postgres:${this.#context.password}@127.0.0.1:${this.port}/postgres`
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#child !== undefined
  }

  /** Creates the data directory with `initdb`. */
  async initdb(): Promise<void> {
    await this.#makeDir(this.dir)
    const pwfile = join(this.dir, 'pwfile')
    await writeFile(pwfile, `${this.#context.password}\n`, { mode: 0o600 })
    await this.#own(pwfile)
    const args = ['-D', this.dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust']
    args.push('--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions')
    try {
      await run(this.#context.binaries.initdb, args, {
        uid: this.#context.user?.uid,
        gid: this.#context.user?.gid,
      })
    } catch (cause) {
      const output = cause as { stderr?: string; stdout?: string }
      throw new HarnessError(`initdb failed for ${this.name}`, {
        cause,
        logTail: output.stderr || output.stdout,
      })
    } finally {
      await rm(pwfile, { force: true })
    }
  }

  /**
   * Fills this server's (new) data directory from another server's, skipping
   * `excludes`: a plain copy before the source first starts, or the copy step of an
   * online base backup.
   */
  async copyDataFrom(source: PgServer, excludes?: ReadonlySet<string>): Promise<void> {
    await this.#makeDir(this.dir)
    await copyDataDir(source.dataDir, this.dataDir, this.#context.user, excludes)
  }

  /** Writes settings to a file of their own, which `postgresql.conf` includes. */
  async configure(settings: Readonly<Record<string, SettingValue>>, file = 'causeway.conf'): Promise<void> {
    const path = join(this.dataDir, file)
    await writeFile(path, renderSettings(settings))
    await this.#own(path)
  }

  /** Writes a file into the data directory, owned by the server's user. */
  async writeDataFile(file: string, content: string): Promise<void> {
    const path = join(this.dataDir, file)
    await writeFile(path, content, { mode: 0o600 })
    await this.#own(path)
  }

  /** Starts the server and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.#child) return
    const log = openSync(this.logFile, 'a')
    let child: ChildProcess
    try {
      child = spawn(this.#context.binaries.postgres, ['-D', this.dataDir], {
        detached: true,
        stdio: ['ignore', log, log],
        uid: this.#context.user?.uid,
        gid: this.#context.user?.gid,
      })
    } finally {
      closeSync(log)
    }
    child.unref()
    this.#child = child
    this.#postmaster = child.pid === undefined ? undefined : processRef(child.pid)
    let exitCode: number | string | null | undefined
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? signal
        this.#forget(child)
        resolve()
      })
      child.once('error', () => resolve())
    })
    await waitFor(
      async () => {
        if (exitCode !== undefined || !this.#child) {
          throw new HarnessError(`${this.name} exited during start (${exitCode ?? 'spawn failed'})`, {
            logTail: this.logTail(),
          })
        }
        await this.query('select 1')
        return true
      },
      {
        what: `${this.name} to accept connections`,
        timeoutMillis: this.#context.startTimeoutMillis,
        logTail: () => this.logTail(),
      },
    )
  }

  /**
   * Shuts the server down and waits until every process of it has exited. A
   * frozen server is thawed first: stopped, it would never act on the signal.
   */
  async stop(mode: StopMode = 'fast'): Promise<void> {
    const child = this.#child
    const postmaster = this.#postmaster
    if (!child || !postmaster) return
    this.thaw()
    const tree = listTree(postmaster)
    child.kill(STOP_SIGNAL[mode])
    const exited = await this.#exitWithin(mode === 'smart' ? 30_000 : 10_000)
    if (!exited) await killTree(postmaster, this.#treeWait())
    // The postmaster may be gone while a child of it still exits.
    await waitGone(tree, this.#treeWait())
    await this.#exitWithin(KILL_WAIT_MILLIS)
    this.#forget(child)
  }

  /**
   * SIGKILLs the postmaster and every process below it, like a machine crash, and
   * resolves once none of them runs: from then on, nothing of this server commits.
   */
  async kill(): Promise<void> {
    const child = this.#child
    const postmaster = this.#postmaster
    if (!child || !postmaster) return
    await killTree(postmaster, this.#treeWait())
    await this.#exitWithin(KILL_WAIT_MILLIS)
    this.#forget(child)
  }

  /**
   * Stops (SIGSTOP) the postmaster and every process below it, postmaster first so
   * that it forks no new one. The kernel still completes TCP handshakes on the
   * listening port, but nothing answers: a hung server, not a dead one.
   */
  async freeze(): Promise<void> {
    const postmaster = this.#postmaster
    if (!this.#child || !postmaster) throw new HarnessError(`${this.name} is not running: nothing to freeze`)
    this.#frozen = await stopTree(postmaster, this.#treeWait())
  }

  /** Resumes (SIGCONT) what {@link freeze} stopped. Does nothing when not frozen. */
  thaw(): void {
    const frozen = this.#frozen
    this.#frozen = undefined
    if (frozen) continueAll(frozen)
  }

  /** Runs one statement on a short-lived connection and returns its rows. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]> {
    return queryOnce<R>(this.url, sql, params)
  }

  /** The last lines of the server log. */
  logTail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  /** Whether the postmaster's exit was seen within the time. */
  async #exitWithin(timeoutMillis: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMillis)
    })
    const exited = await Promise.race([this.#exited?.then(() => true), timedOut])
    clearTimeout(timer)
    return exited ?? true
  }

  #forget(child: ChildProcess): void {
    if (this.#child !== child) return
    this.#child = undefined
    this.#postmaster = undefined
    this.#frozen = undefined
  }

  #treeWait() {
    return { what: this.name, timeoutMillis: KILL_WAIT_MILLIS }
  }

  async #makeDir(path: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: 0o700 })
    await this.#own(path)
  }

  async #own(path: string): Promise<void> {
    const user = this.#context.user
    if (user) await chown(path, user.uid, user.gid)
  }
}
