import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { hostname } from 'node:os'
import type * as Testcontainers from 'testcontainers'
import type { Availability } from './availability.js'
import { HarnessError } from './harness-error.js'
import { isAlive, startTime } from './processes.js'

/** The environment variable that picks the engine of {@link startCluster}: `embedded` or `containers`. */
export const ENV_ENGINE = 'CAUSEWAY_TEST_ENGINE'
/** The environment variable that names the image of the container engine. */
export const ENV_IMAGE = 'CAUSEWAY_TEST_IMAGE'
/** The image of the container engine when neither the option nor the environment names one. */
export const DEFAULT_IMAGE = 'postgres:18'

/** Every container and network of the harness carries this label, for the sweep. */
export const LABEL = 'dev.causeway.testing'
/** Who made it: `host/pid/start time`, so that a later run can tell whether the owner is gone. */
export const OWNER_LABEL = 'dev.causeway.testing.owner'

export type TestcontainersModule = typeof Testcontainers

let loaded: Promise<TestcontainersModule> | undefined

/**
 * Loads `testcontainers`, an optional peer dependency: only the container engine
 * needs it, so users of the embedded engine never install it.
 */
export function loadTestcontainers(): Promise<TestcontainersModule> {
  loaded ??= import('testcontainers').catch((cause: unknown) => {
    loaded = undefined
    throw new HarnessError(
      'the container engine needs the testcontainers package: install testcontainers@^11.9.0 ' +
        '(12.x needs Node 22.22 or later)',
      { cause },
    )
  })
  return loaded
}

/** The image to run: the option, else `CAUSEWAY_TEST_IMAGE`, else `postgres:18`. */
export function containerImage(option?: string): string {
  return option ?? (process.env[ENV_IMAGE] || DEFAULT_IMAGE)
}

/** The owner label's value for this process. */
export function ownerLabel(): string {
  return `${hostname()}/${process.pid}/${startTime(process.pid) ?? ''}`
}

/** Whether the process named by an owner label is gone: only a process of this host can be judged. */
function ownerGone(owner: string | undefined): boolean {
  const [host, pid, started] = (owner ?? '').split('/')
  if (host !== hostname()) return false
  const number = Number(pid)
  return !(number > 0 && isAlive(number) && (startTime(number) ?? '') === started)
}

/**
 * Removes the containers (with their anonymous volumes) and networks that a test
 * process of this host left behind when it died without closing its cluster.
 * testcontainers' own reaper (Ryuk) would do this, but it is often absent: podman
 * cannot run it without its image from a registry. Returns how many containers it removed.
 */
export async function sweepLeftovers(client: Testcontainers.ContainerRuntimeClient): Promise<number> {
  const docker = client.container.dockerode
  const filters = JSON.stringify({ label: [LABEL] })
  const containers = await docker.listContainers({ all: true, filters })
  const stale = containers.filter((info) => ownerGone(info.Labels?.[OWNER_LABEL]))
  await Promise.all(
    stale.map((info) =>
      docker
        .getContainer(info.Id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  )
  const networks = await docker.listNetworks({ filters })
  await Promise.all(
    networks
      .filter((info) => ownerGone(info.Labels?.[OWNER_LABEL]))
      .map((info) =>
        docker
          .getNetwork(info.Id)
          .remove()
          .catch(() => {}),
      ),
  )
  return stale.length
}

/** Where testcontainers would look for the engine, as `unix://…` or `tcp://…`. */
function engineAddress(): string | undefined {
  if (process.env.DOCKER_HOST) return process.env.DOCKER_HOST
  const runtimeDir = process.env.XDG_RUNTIME_DIR
  const sockets = [
    '/var/run/docker.sock',
    ...(runtimeDir ? [`${runtimeDir}/docker.sock`, `${runtimeDir}/podman/podman.sock`] : []),
    '/run/podman/podman.sock',
  ]
  const socket = sockets.find((path) => existsSync(path))
  return socket ? `unix://${socket}` : undefined
}

/** Asks the engine for `/_ping` and the image, in a child process so that the answer is synchronous. */
const PROBE = `
const http = require('node:http')
const [address, image] = process.argv.slice(1)
const target = address.startsWith('unix://')
  ? { socketPath: address.slice(7) }
  : { host: new URL(address.replace(/^tcp:/, 'http:')).hostname, port: new URL(address.replace(/^tcp:/, 'http:')).port }
const get = (path) => new Promise((resolve, reject) => {
  const request = http.get({ ...target, path, timeout: 3000 }, (response) => { response.resume(); resolve(response.statusCode) })
  request.on('timeout', () => request.destroy(new Error('no answer within 3 s')))
  request.on('error', reject)
})
get('/_ping')
  .then(async (ping) => {
    if (ping !== 200) throw new Error('/_ping answered ' + ping)
    console.log(await get('/images/' + encodeURIComponent(image) + '/json'))
  })
  .catch((error) => { console.error(error.message); process.exit(1) })
`

/**
 * Whether the container engine of {@link startCluster} can run here, and if not,
 * why: a test that needs it is then skipped with the reason, not failed.
 *
 * It needs a Docker-compatible engine that answers (Docker, or podman's API
 * service), the `testcontainers` package, and the image: present, or not a
 * `localhost/` image, which the engine may pull. Synchronous, for a test file
 * to decide at load time what to skip.
 */
export function containersAvailable(image = containerImage()): Availability {
  const address = engineAddress()
  if (!address) {
    return {
      ok: false,
      reason:
        'no Docker-compatible engine: set DOCKER_HOST, or run Docker or podman ' +
        '(packages/testing/scripts/setup-podman.sh sets up podman; .ci/run runs it)',
    }
  }
  try {
    execFileSync(process.execPath, ['-e', 'require.resolve("testcontainers")'], {
      cwd: new URL('.', import.meta.url).pathname,
      stdio: 'pipe',
    })
  } catch {
    return { ok: false, reason: 'the testcontainers package is not installed (testcontainers@^11.9.0)' }
  }
  let status: string
  try {
    status = execFileSync(process.execPath, ['-e', PROBE, address, image], {
      stdio: 'pipe',
      timeout: 10_000,
      encoding: 'utf8',
    }).trim()
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim()
    return {
      ok: false,
      reason: `the engine at ${address} does not answer: ${stderr || (error as Error).message}`,
    }
  }
  if (status !== '200' && image.startsWith('localhost/')) {
    return {
      ok: false,
      reason: `image ${image} is not on the engine at ${address} (packages/testing/scripts/setup-podman.sh builds it)`,
    }
  }
  return { ok: true }
}
