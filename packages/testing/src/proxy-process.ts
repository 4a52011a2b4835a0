import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { chown, mkdir, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { HarnessError } from './harness-error.js'
import type { OsUser } from './os-user.js'
import { type PortReservation, reservePorts } from './ports.js'
import { processRef } from './process-tree.js'
import {
  cleanLeftovers,
  createClusterDir,
  defaultRoot,
  destroyClusterDir,
  recordHelperProcess,
} from './run-registry.js'
import type { RunningProxy } from './running-proxy.js'
import { waitFor } from './wait-for.js'

const HOST = '127.0.0.1'

/** Bound on a proxy's exit after its stop signal; then it is SIGKILLed. */
const STOP_WAIT_MILLIS = 5_000

/** How to run one proxy program in the foreground. */
export interface ProxyLaunch {
  /** The program's name, for messages and the name of its directory: `haproxy`. */
  readonly name: string
  /** The path of the program. */
  readonly program: string
  /** The OS user to run it as; undefined runs it as the caller. */
  readonly user: OsUser | undefined
  /** The signal that makes it exit at once, closing its connections. */
  readonly stopSignal: NodeJS.Signals
  readonly startTimeoutMillis: number
  /** The files to write into its directory (mode 0600, owned by `user`), and its arguments. */
  readonly prepare: (
    dir: string,
    port: number,
  ) => { readonly files: Readonly<Record<string, string>>; readonly args: readonly string[] }
}

/**
 * Starts a proxy program on a free loopback port and resolves once the port accepts
 * connections. Its directory lives below the harness's cluster root like a
 * cluster's, with the process recorded there, so that the exit hook and the
 * cleanup after a crashed run kill it too.
 */
export async function startProxy(launch: ProxyLaunch): Promise<RunningProxy> {
  const root = defaultRoot()
  cleanLeftovers(root)
  const runDir = createClusterDir(root)
  let reservation: PortReservation | undefined
  try {
    ;[reservation] = (await reservePorts(1, join(root, 'ports'))) as [PortReservation]
    const dir = join(runDir, launch.name)
    await mkdir(dir, { mode: 0o700 })
    await own(dir, launch.user)
    const { files, args } = launch.prepare(dir, reservation.port)
    for (const [file, content] of Object.entries(files)) {
      await writeFile(join(dir, file), content, { mode: 0o600 })
      await own(join(dir, file), launch.user)
    }
    const proxy = new ProxyProcess(launch, dir, runDir, reservation, args)
    await proxy.started
    return proxy
  } catch (error) {
    destroyClusterDir(runDir)
    reservation?.release()
    throw error
  }
}

class ProxyProcess implements RunningProxy {
  readonly host = HOST
  readonly port: number
  readonly pid: number
  readonly dir: string
  /** Settles once the port accepts connections, or the start failed. */
  readonly started: Promise<unknown>
  readonly #runDir: string
  readonly #reservation: PortReservation
  readonly #launch: ProxyLaunch
  readonly #child: ChildProcess
  readonly #exited: Promise<void>
  readonly #logFile: string
  #closed: Promise<void> | undefined

  constructor(
    launch: ProxyLaunch,
    dir: string,
    runDir: string,
    reservation: PortReservation,
    args: readonly string[],
  ) {
    this.#launch = launch
    this.dir = dir
    this.#runDir = runDir
    this.#reservation = reservation
    this.port = reservation.port
    this.#logFile = join(dir, `${launch.name}.log`)
    const log = openSync(this.#logFile, 'a')
    try {
      // A session of its own, like the servers: a Ctrl-C to the test run's process
      // group does not race close(), which stops it.
      this.#child = spawn(launch.program, args, {
        detached: true,
        stdio: ['ignore', log, log],
        uid: launch.user?.uid,
        gid: launch.user?.gid,
      })
    } finally {
      closeSync(log)
    }
    this.#child.unref()
    let exit: string | undefined
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        exit = String(code ?? signal)
        resolve()
      })
      this.#child.once('error', (error) => {
        exit = error.message
        resolve()
      })
    })
    this.pid = this.#child.pid ?? -1
    const ref = processRef(this.pid)
    if (ref) recordHelperProcess(dir, ref)
    this.started = waitFor(
      async () => {
        if (exit !== undefined) {
          throw new HarnessError(`${launch.name} exited during start (${exit})`, { logTail: this.logTail() })
        }
        return accepts(this.port)
      },
      {
        what: `${launch.name} to accept connections on port ${this.port}`,
        timeoutMillis: launch.startTimeoutMillis,
        logTail: () => this.logTail(),
      },
    )
  }

  urlFor(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = this.host
    parsed.port = String(this.port)
    return parsed.toString()
  }

  logTail(lines = 25): string {
    try {
      return readFileSync(this.#logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #close(): Promise<void> {
    this.#child.kill(this.#launch.stopSignal)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.#exited,
      new Promise((resolve) => {
        timer = setTimeout(resolve, STOP_WAIT_MILLIS)
      }),
    ])
    clearTimeout(timer)
    // SIGKILLs whatever is left, waits until it is gone, and removes the directory.
    destroyClusterDir(this.#runDir)
    this.#reservation.release()
  }
}

/** Whether a TCP connection to the loopback port succeeds. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function own(path: string, user: OsUser | undefined): Promise<void> {
  if (user) await chown(path, user.uid, user.gid)
}
