import { z } from 'zod'
import { redact } from '../util/redact.js'

/** One member of a Patroni cluster, as its REST API's `GET /cluster` lists it. */
export interface PatroniMember {
  readonly name: string
  /** `leader`, `replica`, `sync_standby`, `standby_leader`… (older Patroni: `master`). */
  readonly role: string
  /** `running`, `streaming`, `starting`, `stopping`, `stopped`, `crashed`… */
  readonly state: string
  /** The member's `connect_address`: where its PostgreSQL is reached. */
  readonly host: string
  readonly port: number
  /** Absent while the member is stopping. */
  readonly timeline: number | undefined
  /** Replay lag in bytes, as Patroni computes it; undefined on the leader or when Patroni says "unknown". */
  readonly lagBytes: number | undefined
}

/** What Patroni says of its cluster at one moment. */
export interface PatroniView {
  /** The member holding the leader key, if any: the only one Patroni lets take writes. */
  readonly leader: PatroniMember | undefined
  readonly members: readonly PatroniMember[]
  /** Which REST API answered (credentials removed). */
  readonly source: string
}

/** Roles of the member that holds the leader key of a read-write cluster (`master` before Patroni 3). */
const LEADER_ROLES = new Set(['leader', 'master', 'primary'])

/** Whether a member of this role holds the leader key of a read-write cluster. */
export function isLeaderRole(role: string): boolean {
  return LEADER_ROLES.has(role)
}

const memberSchema = z
  .object({
    name: z.string().min(1),
    role: z.string(),
    state: z.string().default('unknown'),
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535),
    timeline: z.number().int().positive().optional(),
    lag: z.union([z.number(), z.string()]).optional(),
  })
  .loose()

const viewSchema = z.object({ members: z.array(memberSchema) }).loose()

/**
 * Parses the body of `GET /cluster`. Throws an error naming the first field that
 * does not fit; values are not echoed. A `standby_leader` (a standby cluster) is
 * not a leader: it takes no writes.
 */
export function parsePatroniView(body: unknown, source: string): PatroniView {
  const parsed = viewSchema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(
      `GET ${source}/cluster: unexpected body at ${issue?.path.join('.') || 'top level'}: ${issue?.message}`,
    )
  }
  const members = parsed.data.members.map(
    (m): PatroniMember => ({
      name: m.name,
      role: m.role,
      state: m.state,
      host: m.host,
      port: m.port,
      timeline: m.timeline,
      lagBytes: typeof m.lag === 'number' && Number.isFinite(m.lag) ? m.lag : undefined,
    }),
  )
  const leaders = members.filter((m) => isLeaderRole(m.role))
  // Two members claiming the leader key cannot both be right: trust neither.
  return { leader: leaders.length === 1 ? leaders[0] : undefined, members, source }
}

/** A REST API base URL, ready for `fetch`: without credentials, which go in a header instead. */
export interface PatroniEndpoint {
  /** The base URL, without user and password: also what messages show. */
  readonly url: string
  readonly authorization: string | undefined
}

/**
 * Splits `http://user:password@host:8008` into a URL `fetch` accepts (it refuses
 * credentials in the URL) and a basic `Authorization` header.
 */
export function patroniEndpoint(text: string): PatroniEndpoint {
  const url = new URL(text)
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined
  url.username = ''
  url.password = ''
  const base = url.href.replace(/\/+$/, '')
  return { url: base, authorization }
}

/**
 * `GET /cluster` from one Patroni REST API. Rejects when it does not answer 200
 * with a member list within `timeoutMillis`; the message names the API without
 * credentials.
 */
export async function fetchPatroniView(
  endpoint: PatroniEndpoint,
  timeoutMillis: number,
): Promise<PatroniView> {
  let response: Response
  try {
    response = await fetch(`${endpoint.url}/cluster`, {
      headers: endpoint.authorization ? { authorization: endpoint.authorization } : {},
      signal: AbortSignal.timeout(timeoutMillis),
    })
  } catch (error) {
    const cause = (error as Error).cause as Error | undefined
    throw new Error(redact(`GET ${endpoint.url}/cluster: ${cause?.message ?? (error as Error).message}`))
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`GET ${endpoint.url}/cluster answered ${response.status}`)
  }
  let body: unknown
  try {
    body = await response.json()
  } catch {
    throw new Error(`GET ${endpoint.url}/cluster: the body is not JSON`)
  }
  return parsePatroniView(body, endpoint.url)
}
