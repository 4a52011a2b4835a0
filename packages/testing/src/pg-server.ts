import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { chown, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { PgBinaries } from './binaries.js'
import { copyDataDir } from './copy-data-dir.js'
import { HarnessError } from './harness-error.js'
import type { OsUser } from './os-user.js'
import { groupAlive, killGroup } from './processes.js'
import { queryOnce } from './query-once.js'
import { renderSettings, type SettingValue } from './server-config.js'
import { waitFor } from './wait-for.js'

const run = promisify(execFile)

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
 * `postgres` itself rather than through `pg_ctl`, as the leader of a new process
 * group: that gives it the pid, the exit, and a way to kill all backends at once.
 */
export class PgServer {
  readonly name: string
  readonly port: number
  readonly dir: string
  readonly dataDir: string
  readonly logFile: string
  readonly #context: ServerContext
  #child: ChildProcess | undefined
  #exited: Promise<void> | undefined

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
    let exitCode: number | string | null | undefined
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? signal
        if (this.#child === child) this.#child = undefined
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

  /** Shuts the server down and waits until every process of it has exited. */
  async stop(mode: StopMode = 'fast'): Promise<void> {
    const child = this.#child
    if (!child?.pid) return
    child.kill(STOP_SIGNAL[mode])
    await this.#waitGone(child.pid, mode === 'smart' ? 30_000 : 10_000)
  }

  /** Kills the server and all its backends with SIGKILL, like a machine crash. */
  async kill(): Promise<void> {
    const child = this.#child
    if (!child?.pid) return
    killGroup(child.pid)
    await this.#waitGone(child.pid, 5_000)
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

  async #waitGone(pid: number, timeoutMillis: number): Promise<void> {
    const exited = this.#exited
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMillis)
    })
    const late = await Promise.race([exited?.then(() => false), timedOut])
    clearTimeout(timer)
    if (late) killGroup(pid)
    // The postmaster may be gone while a backend of its group still exits.
    await waitFor(async () => !groupAlive(pid), {
      what: `${this.name} to exit`,
      timeoutMillis: 5_000,
      intervalMillis: 10,
    })
    this.#child = undefined
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
