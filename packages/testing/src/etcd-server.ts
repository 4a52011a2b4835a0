import { chown, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { BackgroundProcess } from './background-process.js'
import { HarnessError } from './harness-error.js'
import type { OsUser } from './os-user.js'
import { waitFor } from './wait-for.js'

/** Where one single-member etcd listens, and the directory it keeps its data in. */
export interface EtcdLaunch {
  readonly program: string
  readonly dir: string
  readonly clientPort: number
  readonly peerPort: number
  readonly user: OsUser | undefined
  readonly startTimeoutMillis: number
}

/**
 * Starts a single-member etcd (Debian's `etcd-server`) on loopback ports and
 * resolves once `/health` says so: the DCS that Patroni's members elect a leader
 * in. About 0.8 s.
 */
export async function startEtcd(launch: EtcdLaunch): Promise<BackgroundProcess> {
  await mkdir(launch.dir, { mode: 0o700 })
  if (launch.user) await chown(launch.dir, launch.user.uid, launch.user.gid)
  const client = `http://127.0.0.1:${launch.clientPort}`
  const peer = `http://127.0.0.1:${launch.peerPort}`
  const etcd = new BackgroundProcess({
    what: 'etcd',
    program: launch.program,
    args: [
      '--name=etcd',
      `--data-dir=${join(launch.dir, 'data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=etcd=${peer}`,
      '--initial-cluster-state=new',
    ],
    dir: launch.dir,
    logFile: join(launch.dir, 'etcd.log'),
    user: launch.user,
  })
  try {
    await waitFor(
      async () => {
        if (etcd.exit !== undefined) throw etcdExited(etcd)
        const response = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1_000) })
        return response.ok && ((await response.json()) as { health?: string }).health === 'true'
      },
      {
        what: `etcd to be healthy on port ${launch.clientPort}`,
        timeoutMillis: launch.startTimeoutMillis,
        logTail: () => etcd.logTail(),
      },
    )
  } catch (error) {
    await etcd.kill()
    throw error
  }
  return etcd
}

function etcdExited(etcd: BackgroundProcess): HarnessError {
  return new HarnessError(`etcd exited during start (${etcd.exit})`, { logTail: etcd.logTail() })
}
