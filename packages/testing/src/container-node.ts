import type { ContainerRuntimeClient, StartedTestContainer } from 'testcontainers'
import type { ClusterNode } from './cluster-node.js'
import { HarnessError } from './harness-error.js'
import type { StopMode } from './pg-server.js'
import { queryOnce } from './query-once.js'
import * as replication from './replication-sql.js'
import { SqlControlledNode } from './sql-controlled-node.js'
import { waitFor } from './wait-for.js'

/** A container as the engine's API (dockerode) sees it. */
export type EngineContainer = ReturnType<ContainerRuntimeClient['container']['getById']>
type ContainerState = Awaited<ReturnType<EngineContainer['inspect']>>['State']

/** The port PostgreSQL listens on inside every container. */
export const CONTAINER_PORT = 5432

const STOP_SIGNAL: Record<StopMode, string> = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' }

/**
 * A node of a container cluster: one container running one PostgreSQL server,
 * reached from the test on a fixed host port and from the other containers by its
 * name, a DNS alias on the cluster's network. The process controls go through
 * the engine's API: a stop is a signal to the postmaster (the container's first
 * process) and a wait for the container's exit, a kill is the container's kill,
 * and a freeze is its pause (the cgroup freezer: every process stops at once).
 */
export class ContainerNode extends SqlControlledNode implements ClusterNode {
  readonly name: string
  readonly port: number
  readonly url: string
  readonly container: StartedTestContainer
  readonly #docker: EngineContainer
  readonly #password: string
  readonly #waitMillis: number

  constructor(options: {
    name: string
    port: number
    host: string
    container: StartedTestContainer
    docker: EngineContainer
    password: string
    waitMillis: number
  }) {
    super()
    this.name = options.name
    this.port = options.port
    this.url = `postgres://postgres:${options.password}@${options.host}:${options.port}/postgres`
    this.container = options.container
    this.#docker = options.docker
    this.#password = options.password
    this.#waitMillis = options.waitMillis
  }

  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]> {
    return queryOnce<R>(this.url, sql, params)
  }

  async repoint(upstream: ClusterNode): Promise<void> {
    await replication.repoint(this, upstream, this.conninfoFor(upstream))
    await this.waitStreaming(upstream)
  }

  /** The `primary_conninfo` with which this node streams from `upstream`, by its alias on the network. */
  conninfoFor(upstream: ClusterNode): string {
    return containerConninfo(upstream.name, this.#password, this.name)
  }

  /** The data directory (or any path) of the container as a tar archive, for a base backup. */
  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream> {
    return this.container.copyArchiveFromContainer(path)
  }

  /** Resolves once this node streams from `upstream`. */
  async waitStreaming(upstream: ClusterNode): Promise<void> {
    await this.#withLogs(
      waitFor(
        async () => {
          const rows = await this.query<{ sender_host: string }>(
            `select sender_host from pg_stat_wal_receiver where status = 'streaming'`,
          )
          return rows[0]?.sender_host === upstream.name
        },
        { what: `${this.name} to stream from ${upstream.name}`, timeoutMillis: this.#waitMillis },
      ),
    )
  }

  /** Resolves once the server accepts connections on its host port. */
  async waitReady(): Promise<void> {
    await this.#withLogs(
      waitFor(
        async () => {
          if (!(await this.#running())) {
            throw new HarnessError(`${this.name}'s container exited during start`)
          }
          await this.query('select 1')
          return true
        },
        { what: `${this.name} to accept connections`, timeoutMillis: this.#waitMillis },
      ),
    )
  }

  async stop(options: { mode?: StopMode } = {}): Promise<void> {
    const mode = options.mode ?? 'fast'
    if (!(await this.#running())) return
    await this.thaw()
    await this.#docker.kill({ signal: STOP_SIGNAL[mode] }).catch(ignoreNotRunning)
    if (!(await this.#exitWithin(mode === 'smart' ? 30_000 : 10_000))) await this.kill()
  }

  async start(): Promise<void> {
    if (await this.#running()) return
    await this.#docker.start()
    await this.waitReady()
  }

  async kill(): Promise<void> {
    if (!(await this.#running())) return
    await this.thaw()
    await this.#docker.kill({ signal: 'SIGKILL' }).catch(ignoreNotRunning)
    if (!(await this.#exitWithin(10_000))) {
      throw new HarnessError(`${this.name}'s container still runs 10 s after SIGKILL`)
    }
  }

  async freeze(): Promise<void> {
    const state = await this.#state()
    if (!state?.Running) throw new HarnessError(`${this.name} is not running: nothing to freeze`)
    if (!state.Paused) await this.#docker.pause()
  }

  async thaw(): Promise<void> {
    if ((await this.#state())?.Paused) await this.#docker.unpause()
  }

  /** The last lines of the container's output, which is the server's log. */
  async logTail(lines = 25): Promise<string> {
    try {
      const buffer = (await this.#docker.logs({ stdout: true, stderr: true, tail: lines })) as Buffer
      return demultiplex(buffer)
    } catch {
      return ''
    }
  }

  /** Removes the container and its anonymous volume, running or not. */
  async remove(): Promise<void> {
    await this.#docker.remove({ force: true, v: true }).catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error
    })
  }

  async #state(): Promise<ContainerState | undefined> {
    try {
      return (await this.#docker.inspect()).State
    } catch {
      return undefined
    }
  }

  async #running(): Promise<boolean> {
    return (await this.#state())?.Running === true
  }

  async #exitWithin(timeoutMillis: number): Promise<boolean> {
    try {
      await waitFor(async () => !(await this.#running()), {
        what: `${this.name}'s container to exit`,
        timeoutMillis,
        intervalMillis: 50,
      })
      return true
    } catch {
      return false
    }
  }

  /** Adds the container's log to a failed wait. */
  async #withLogs<T>(wait: Promise<T>): Promise<T> {
    try {
      return await wait
    } catch (error) {
      if (!(error instanceof HarnessError) || error.logTail) throw error
      throw new HarnessError(error.message, { cause: error.cause, logTail: await this.logTail() })
    }
  }
}

/** A standby's `primary_conninfo`: the upstream by its alias on the cluster's network. */
export function containerConninfo(upstream: string, password: string, applicationName: string): string {
  return `host=${upstream} port=${CONTAINER_PORT} user=postgres password=${password} application_name=${applicationName}`
}

/** A kill of a container that has just exited is not a failure. */
function ignoreNotRunning(error: unknown): void {
  const status = (error as { statusCode?: number }).statusCode
  if (status !== 409 && status !== 304 && status !== 404) throw error
}

/**
 * Docker's log stream of a container without a TTY frames each chunk with an
 * 8-byte header (stream, 0, 0, 0, length); podman's answer may come unframed.
 */
function demultiplex(buffer: Buffer): string {
  const parts: Buffer[] = []
  let offset = 0
  while (offset + 8 <= buffer.length && buffer[offset]! <= 2 && buffer.readUIntBE(offset + 1, 3) === 0) {
    const length = buffer.readUInt32BE(offset + 4)
    parts.push(buffer.subarray(offset + 8, offset + 8 + length))
    offset += 8 + length
  }
  return (offset === 0 ? buffer : Buffer.concat(parts)).toString('utf8').trimEnd()
}
