import { join } from 'node:path'
import { type Availability, findProgram, programAvailability } from './availability.js'
import type { BackgroundProcess } from './background-process.js'
import { startEtcd } from './etcd-server.js'
import { HarnessError } from './harness-error.js'
import { serverUser } from './os-user.js'
import { type PortReservation, reservePorts } from './ports.js'
import {
  cleanLeftovers,
  createClusterDir,
  defaultRoot,
  destroyClusterDir,
  releaseClusterDir,
} from './run-registry.js'

/** A single-member etcd started by {@link startEtcdServer}. */
export interface TestEtcd {
  /** The client URL, `http://127.0.0.1:<port>`. */
  readonly url: string
  /** Stops etcd, removes its data and frees its ports. Safe to call twice. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Options of {@link startEtcdServer}. */
export interface StartEtcdServerOptions {
  /** How long etcd may take to report healthy. Default 30,000 ms. */
  readonly startTimeoutMillis?: number
}

/**
 * Whether Debian's `etcd-server` is installed here; when not, the reason, for a
 * test to report as it skips.
 */
export function etcdAvailable(): Availability {
  return programAvailability('etcd', 'etcd-server', ['--version'])
}

/**
 * Starts a single-member etcd (Debian's `etcd-server`) on free loopback ports, in a
 * directory of its own below the harness's cluster root: a coordination service for
 * tests of cross-process locks. About 1 s. It is recorded in the run registry, so
 * the exit hook or the next run's cleanup kills it if a test fails to close it.
 *
 * @example
 * await using etcd = await startEtcdServer()
 * const lock = new EtcdFailoverLock({ hosts: etcd.url })
 */
export async function startEtcdServer(options: StartEtcdServerOptions = {}): Promise<TestEtcd> {
  const availability = etcdAvailable()
  if (!availability.ok) throw new HarnessError(`startEtcdServer: ${availability.reason}`)
  const root = defaultRoot()
  cleanLeftovers(root)
  const runDir = createClusterDir(root)
  let ports: PortReservation[] = []
  try {
    ports = await reservePorts(2, join(root, 'ports'))
    const [client, peer] = ports.map((reservation) => reservation.port) as [number, number]
    const etcd = await startEtcd({
      program: findProgram('etcd') as string,
      dir: join(runDir, 'etcd'),
      clientPort: client,
      peerPort: peer,
      user: serverUser(),
      startTimeoutMillis: options.startTimeoutMillis ?? 30_000,
    })
    return new RunningEtcd(runDir, ports, etcd, `http://127.0.0.1:${client}`)
  } catch (error) {
    destroyClusterDir(runDir)
    releaseClusterDir(runDir)
    for (const reservation of ports) reservation.release()
    throw error
  }
}

class RunningEtcd implements TestEtcd {
  readonly url: string
  readonly #runDir: string
  readonly #ports: readonly PortReservation[]
  readonly #etcd: BackgroundProcess
  #closed: Promise<void> | undefined

  constructor(runDir: string, ports: readonly PortReservation[], etcd: BackgroundProcess, url: string) {
    this.#runDir = runDir
    this.#ports = ports
    this.#etcd = etcd
    this.url = url
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #close(): Promise<void> {
    // SIGTERM lets etcd stop cleanly; one that outlasts it is SIGKILLed.
    if (!(await this.#etcd.stop('SIGTERM', 5_000))) await this.#etcd.kill()
    destroyClusterDir(this.#runDir)
    releaseClusterDir(this.#runDir)
    for (const reservation of this.#ports) reservation.release()
  }
}
