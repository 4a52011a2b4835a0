import { HarnessError } from './harness-error.js'

/** One member as Patroni's `GET /cluster` lists it (3.0.2). */
export interface PatroniClusterMember {
  readonly name: string
  /** `leader`, `replica`, `sync_standby`… (`/cluster` says `leader` where `/patroni` says `master`). */
  readonly role: string
  /** `running`, `starting`, `stopping`, `stopped`… Replicas that stream show `running` in 3.0.2. */
  readonly state: string
  readonly host: string
  readonly port: number
  /** Absent while the member is stopping. */
  readonly timeline?: number
  /** Replay lag in bytes, or `"unknown"`; absent on the leader. */
  readonly lag?: number | string
}

/** The body of `GET /cluster`. */
export interface PatroniClusterView {
  readonly members: readonly PatroniClusterMember[]
}

const REQUEST_TIMEOUT_MILLIS = 2_000

/** `GET /cluster` from one member's REST API. Throws when it does not answer 200. */
export async function getClusterView(restUrl: string): Promise<PatroniClusterView> {
  const response = await fetch(`${restUrl}/cluster`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MILLIS) })
  if (!response.ok) throw new Error(`GET ${restUrl}/cluster answered ${response.status}`)
  return (await response.json()) as PatroniClusterView
}

/**
 * `GET /cluster` from the first member that answers, or undefined when none does
 * (every Patroni is down, or etcd is).
 */
export async function anyClusterView(restUrls: readonly string[]): Promise<PatroniClusterView | undefined> {
  for (const url of restUrls) {
    try {
      return await getClusterView(url)
    } catch {
      // the next member may answer
    }
  }
  return undefined
}

/**
 * `POST /switchover` to a member. Patroni answers once the candidate has taken
 * the leader key (200), or with the reason it refused (for example no healthy
 * candidate, 412).
 */
export async function postSwitchover(restUrl: string, leader: string, candidate?: string): Promise<void> {
  const response = await fetch(`${restUrl}/switchover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(candidate ? { leader, candidate } : { leader }),
    signal: AbortSignal.timeout(30_000),
  })
  if (!response.ok) {
    throw new HarnessError(
      `Patroni refused the switchover from ${leader} (${response.status}): ${await response.text()}`,
    )
  }
}
