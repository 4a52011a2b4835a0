import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { type PgpoolBackend, renderPgpoolConfig, renderPoolPasswd } from './pgpool-config.js'

/** How to start pgpool in front of a cluster. */
export interface PgpoolOptions {
  readonly binary: string
  readonly port: number
  /** The primary first, then the replicas. */
  readonly backends: readonly PgpoolBackend[]
  readonly user: string
  readonly password: string
  readonly children: number
  readonly startTimeoutMillis?: number
}

interface PoolNodeRow {
  readonly node_id: string
  readonly status: string
  readonly role: string
}

/**
 * pgpool-II as a child process on loopback: started in the foreground
 * (`pgpool -n -D -f …`, since apt's policy blocks the service) in its own process
 * group, with its config, password file, sockets and log in a private temporary
 * directory. `stop()` ends the whole group and removes the directory; it also runs
 * if the bench process exits first.
 */
export class PgpoolProcess {
  readonly port: number
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #logPath: string
  readonly #onExit: () => void
  #stopped: Promise<void> | undefined

  private constructor(port: number, child: ChildProcess, dir: string, logPath: string) {
    this.port = port
    this.#child = child
    this.#dir = dir
    this.#logPath = logPath
    this.#onExit = () => this.#kill('SIGKILL')
    process.once('exit', this.#onExit)
  }

  /** Starts pgpool and resolves once it reports every backend up, with the primary first. */
  static async start(options: PgpoolOptions): Promise<PgpoolProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'causeway-bench-pgpool-'))
    const conf = join(dir, 'pgpool.conf')
    const settings = { ...options, dir }
    // Both files hold the password: readable by us alone.
    await writeFile(conf, renderPgpoolConfig(settings), { mode: 0o600 })
    await writeFile(join(dir, 'pool_passwd'), renderPoolPasswd(options.user, options.password), {
      mode: 0o600,
    })
    await writeFile(join(dir, 'pcp.conf'), '', { mode: 0o600 })
    const logPath = join(dir, 'pgpool.log')
    const log = openSync(logPath, 'a')
    let child: ChildProcess
    try {
      // -n: stay in the foreground; -D: ignore any saved node status.
      child = spawn(options.binary, ['-n', '-D', '-f', conf, '-F', join(dir, 'pcp.conf')], {
        detached: true,
        stdio: ['ignore', log, log],
      })
    } finally {
      closeSync(log)
    }
    const pgpool = new PgpoolProcess(options.port, child, dir, logPath)
    try {
      await pgpool.#waitReady(options)
      return pgpool
    } catch (error) {
      await pgpool.stop()
      throw error
    }
  }

  /** A `pg` pool config that connects through pgpool. */
  connection(user: string, password: string): pg.PoolConfig {
    return { host: '127.0.0.1', port: this.port, user, password, database: 'postgres' }
  }

  /** Ends pgpool and all its children, then removes its directory. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    process.off('exit', this.#onExit)
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
      // SIGINT is pgpool's fast shutdown; SIGKILL the group if it lingers.
      this.#kill('SIGINT')
      const timer = setTimeout(() => this.#kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    }
    // Children that outlived the parent, if any.
    this.#kill('SIGKILL')
    await rm(this.#dir, { recursive: true, force: true })
  }

  #kill(signal: NodeJS.Signals): void {
    const pid = this.#child.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // The group is gone already.
    }
  }

  async #waitReady(options: PgpoolOptions): Promise<void> {
    const deadline = Date.now() + (options.startTimeoutMillis ?? 20_000)
    let last = 'no answer yet'
    for (;;) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(
          `pgpool exited (${this.#child.exitCode ?? this.#child.signalCode}): ${this.logTail()}`,
        )
      }
      try {
        const rows = await this.#poolNodes(options)
        const up = rows.filter((row) => row.status === 'up' || row.status === 'waiting')
        if (up.length === options.backends.length && rows[0]?.role === 'primary') return
        last = `pool_nodes: ${rows.map((row) => `${row.node_id}:${row.status}/${row.role}`).join(', ')}`
      } catch (error) {
        last = (error as Error).message
      }
      if (Date.now() > deadline) throw new Error(`pgpool did not become ready: ${last}; ${this.logTail()}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  async #poolNodes(options: PgpoolOptions): Promise<PoolNodeRow[]> {
    const client = new pg.Client({
      ...this.connection(options.user, options.password),
      connectionTimeoutMillis: 2_000,
    })
    client.on('error', () => {})
    await client.connect()
    try {
      return (await client.query<PoolNodeRow>('show pool_nodes')).rows
    } finally {
      await client.end().catch(() => {})
    }
  }

  /** The last lines of pgpool's log, for a skip reason. */
  logTail(lines = 5): string {
    try {
      return readFileSync(this.#logPath, 'utf8').trim().split('\n').slice(-lines).join(' | ') || '(empty log)'
    } catch {
      return '(no log)'
    }
  }
}
