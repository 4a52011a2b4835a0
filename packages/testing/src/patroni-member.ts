import { readFileSync } from 'node:fs'
import { chown, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BackgroundProcess } from './background-process.js'
import type { OsUser } from './os-user.js'
import { type PatroniMemberSettings, renderPatroniConfig } from './patroni-config.js'
import { killTree, processRef } from './process-tree.js'
import { commandLine } from './processes.js'
import { queryOnce } from './query-once.js'

/** Bound on killing and reaping a member's postmaster and its children. */
const KILL_WAIT_MILLIS = 5_000

/** One Patroni member of a {@link PatroniCluster}: its Patroni process and the PostgreSQL 15 server Patroni runs. */
export class PatroniMember {
  readonly name: string
  readonly pgPort: number
  readonly restPort: number
  /** The member's directory: `patroni.yml`, `patroni.log`, `data/`, the Unix socket. */
  readonly dir: string
  readonly #settings: PatroniMemberSettings
  readonly #program: string
  readonly #user: OsUser | undefined
  #patroni: BackgroundProcess | undefined

  constructor(settings: PatroniMemberSettings, program: string, user: OsUser | undefined) {
    this.#settings = settings
    this.#program = program
    this.#user = user
    this.name = settings.name
    this.pgPort = settings.pgPort
    this.restPort = settings.restPort
    this.dir = settings.dir
  }

  /** A `postgres://` URL for the `postgres` superuser, with its password. Keep it out of logs. */
  get url(): string {
    return `postgres://postgres:${this.#settings.password}@127.0.0.1:${this.pgPort}/postgres`
  }

  /** The base URL of the member's Patroni REST API: `http://127.0.0.1:<port>`. */
  get restUrl(): string {
    return `http://127.0.0.1:${this.restPort}`
  }

  /** Writes the configuration and starts Patroni, which then initializes or clones its server. */
  async start(): Promise<void> {
    if (this.#patroni?.exit === undefined && this.#patroni) return
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const config = join(this.dir, 'patroni.yml')
    await writeFile(config, renderPatroniConfig(this.#settings), { mode: 0o600 })
    if (this.#user) {
      await chown(this.dir, this.#user.uid, this.#user.gid)
      await chown(config, this.#user.uid, this.#user.gid)
    }
    this.#patroni = new BackgroundProcess({
      what: `patroni ${this.name}`,
      program: this.#program,
      args: [config],
      dir: this.dir,
      logFile: join(this.dir, 'patroni.log'),
      user: this.#user,
      // Nothing of the caller's PG* variables: Patroni's own settings only.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, LANG: 'C.UTF-8' },
    })
  }

  /** Whether Patroni runs (it may have exited, or been killed). */
  get running(): boolean {
    return this.#patroni !== undefined && this.#patroni.exit === undefined
  }

  /**
   * SIGKILLs Patroni and every process of its PostgreSQL server, like a machine
   * crash, and resolves once none of them runs. Patroni first: alive, it would
   * restart the server.
   */
  async kill(): Promise<void> {
    await this.#patroni?.kill()
    const postmaster = this.#postmaster()
    if (postmaster)
      await killTree(postmaster, { what: `${this.name}'s server`, timeoutMillis: KILL_WAIT_MILLIS })
  }

  /**
   * Stops Patroni with SIGTERM, which shuts its server down cleanly (about 4 s), and
   * resolves with whether it exited within the time.
   */
  async stop(timeoutMillis: number): Promise<boolean> {
    return this.#patroni ? this.#patroni.stop('SIGTERM', timeoutMillis) : true
  }

  /** Runs one statement on a short-lived connection and returns its rows. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]> {
    return queryOnce<R>(this.url, sql, params)
  }

  /** The last lines of Patroni's log (which carries the server's start-up output too). */
  logTail(lines = 25): string {
    return this.#patroni?.logTail(lines) ?? ''
  }

  /**
   * The postmaster, from `postmaster.pid`. Patroni starts it, but it is not
   * always Patroni's descendant (it may be reparented), so it is killed by its own tree.
   */
  #postmaster() {
    try {
      const pid = Number(readFileSync(join(this.#settings.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
      // A stale file may name a pid that another program now has.
      return pid > 0 && commandLine(pid).includes('postgres') ? processRef(pid) : undefined
    } catch {
      return undefined
    }
  }
}
