import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Availability, findProgram, programAvailability } from './availability.js'
import type { BackgroundProcess } from './background-process.js'
import { startEtcd } from './etcd-server.js'
import { HarnessError } from './harness-error.js'
import { serverUser } from './os-user.js'
import type { PatroniTimings } from './patroni-config.js'
import { PatroniMember } from './patroni-member.js'
import {
  anyClusterView,
  type PatroniClusterMember,
  type PatroniClusterView,
  postSwitchover,
} from './patroni-rest.js'
import { type PortReservation, reservePorts } from './ports.js'
import { queryOnce } from './query-once.js'
import {
  cleanLeftovers,
  createClusterDir,
  defaultRoot,
  destroyClusterDir,
  releaseClusterDir,
} from './run-registry.js'
import { waitFor } from './wait-for.js'

/** Debian's PostgreSQL 15: Patroni needs `pg_basebackup` and `pg_rewind`, which the embedded binaries lack. */
const PG15_BIN_DIR = '/usr/lib/postgresql/15/bin'

/**
 * The shortest timings that ran stably here on 2 busy cores (ttl 3 also ran, but
 * with no margin; retry_timeout 1 made the leader demote itself).
 */
const DEFAULT_TIMINGS: PatroniTimings = { ttl: 5, loopWait: 1, retryTimeout: 2 }

/** Options of {@link startPatroniCluster}. Every one is optional. */
export interface StartPatroniClusterOptions {
  /** How many Patroni members. Default 3. */
  readonly members?: number
  /** Seconds the leader key lives without a renewal. Default 5. */
  readonly ttl?: number
  /** Seconds between two runs of each member's HA loop. Default 1. */
  readonly loopWait?: number
  /** Seconds a member retries etcd and PostgreSQL before giving up. Default 2. */
  readonly retryTimeout?: number
  /** Patroni's `synchronous_mode`: a commit waits for one standby, and only that one may be promoted. Default false. */
  readonly synchronousMode?: boolean
  /** How long the cluster may take to have a leader and every replica streaming. Default 60,000 ms. */
  readonly startTimeoutMillis?: number
}

/** The member that holds Patroni's leader key, as `/cluster` reports it. */
export interface PatroniLeader {
  readonly member: PatroniMember
  /** `running` once it takes writes; `starting` or `stopping` around a change. */
  readonly state: string
  readonly timeline: number | undefined
}

/** A running etcd with Patroni members over PostgreSQL 15, started by {@link startPatroniCluster}. */
export interface PatroniCluster extends AsyncDisposable {
  /** The members, `pg1`, `pg2`…, in start order; `pg1` is the first leader. */
  readonly members: readonly PatroniMember[]
  /** The etcd client URL. */
  readonly etcdUrl: string
  /** The member called `name`; throws when there is none. */
  member(name: string): PatroniMember
  /** Patroni's `GET /cluster`, from the first member that answers; undefined when none does. */
  view(): Promise<PatroniClusterView | undefined>
  /** The leader by `/cluster`, or undefined while there is none (or no member answers). */
  leader(): Promise<PatroniLeader | undefined>
  /**
   * A planned switchover through Patroni's REST API (`POST /switchover` to the
   * leader), to `to` or to a member Patroni picks. Resolves with the new leader's
   * name once `/cluster` shows it `running`.
   */
  switchover(to?: string): Promise<string>
  /**
   * SIGKILLs the leader's Patroni and every process of its server, and resolves
   * with its name once none of them runs. Patroni fails over after the leader key
   * expires (about `ttl`).
   */
  killLeader(): Promise<string>
  /**
   * Resolves once a leader is `running` and every other member whose Patroni runs
   * is a `running` replica that streams from it (in `synchronousMode`, one of them
   * the synchronous standby).
   */
  ready(timeoutMillis?: number): Promise<void>
  /** Stops every Patroni (and so its server) and etcd, removes the data and frees the ports. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Whether Debian's `patroni`, `etcd-server` and `postgresql-15` are installed here;
 * when not, the reason, for a test to report as it skips.
 */
export function patroniAvailable(): Availability {
  for (const [program, pkg] of [
    ['patroni', 'patroni'],
    ['etcd', 'etcd-server'],
  ] as const) {
    const availability = programAvailability(program, pkg, ['--version'])
    if (!availability.ok) return availability
  }
  for (const binary of ['postgres', 'initdb', 'pg_basebackup', 'pg_rewind']) {
    if (!existsSync(join(PG15_BIN_DIR, binary))) {
      return {
        ok: false,
        reason: `${PG15_BIN_DIR}/${binary} is not installed (apt-get install postgresql-15; .ci/run installs it)`,
      }
    }
  }
  return { ok: true }
}

/**
 * Starts one etcd and `members` Patroni members (Debian's packages, PostgreSQL 15),
 * each on free loopback ports in a directory of its own below the harness's
 * cluster root, without systemd. `pg1` starts first and so leads; the others
 * clone it with `pg_basebackup`. Resolves once every replica streams: about 7 s.
 *
 * Every process is recorded in the run registry: `close()` stops them, and the
 * exit hook or the next run's cleanup kills whatever a failed test left.
 *
 * @example
 * await using cluster = await startPatroniCluster({ members: 3 })
 * const before = (await cluster.leader())?.member.name // 'pg1'
 * const after = await cluster.switchover() // 'pg2' or 'pg3'
 * await cluster.killLeader() // Patroni fails over after about ttl seconds
 */
export async function startPatroniCluster(options: StartPatroniClusterOptions = {}): Promise<PatroniCluster> {
  const availability = patroniAvailable()
  if (!availability.ok) throw new HarnessError(`startPatroniCluster: ${availability.reason}`)
  const count = options.members ?? 3
  if (!Number.isInteger(count) || count < 1)
    throw new HarnessError(`members must be a positive integer, got ${count}`)
  const root = defaultRoot()
  cleanLeftovers(root)
  const runDir = createClusterDir(root)
  const user = serverUser()
  let ports: PortReservation[] = []
  let etcd: BackgroundProcess | undefined
  const members: PatroniMember[] = []
  try {
    ports = await reservePorts(2 + 2 * count, join(root, 'ports'))
    const [etcdClient, etcdPeer, ...memberPorts] = ports.map((reservation) => reservation.port) as [
      number,
      number,
      ...number[],
    ]
    const startTimeoutMillis = options.startTimeoutMillis ?? 60_000
    etcd = await startEtcd({
      program: findProgram('etcd') as string,
      dir: join(runDir, 'etcd'),
      clientPort: etcdClient,
      peerPort: etcdPeer,
      user,
      startTimeoutMillis,
    })
    const password = randomBytes(12).toString('hex')
    const timings: PatroniTimings = {
      ttl: options.ttl ?? DEFAULT_TIMINGS.ttl,
      loopWait: options.loopWait ?? DEFAULT_TIMINGS.loopWait,
      retryTimeout: options.retryTimeout ?? DEFAULT_TIMINGS.retryTimeout,
    }
    const program = findProgram('patroni') as string
    for (let i = 0; i < count; i++) {
      const name = `pg${i + 1}`
      const dir = join(runDir, name)
      members.push(
        new PatroniMember(
          {
            scope: `causeway-${runDir.slice(-6)}`,
            name,
            dir,
            // data/ of a member directory is where the run registry looks for postmaster.pid.
            dataDir: join(dir, 'data'),
            pgPort: memberPorts[2 * i] as number,
            restPort: memberPorts[2 * i + 1] as number,
            etcdPort: etcdClient,
            binDir: PG15_BIN_DIR,
            password,
            timings,
            synchronousMode: options.synchronousMode ?? false,
          },
          program,
          user,
        ),
      )
    }
    const cluster = new RunningPatroniCluster(
      runDir,
      ports,
      etcd,
      members,
      etcdClient,
      options.synchronousMode ?? false,
    )
    // Which member wins the first election is random when all start together: pg1 first makes it pg1.
    const [first, ...rest] = members as [PatroniMember, ...PatroniMember[]]
    await first.start()
    await waitFor(async () => (await cluster.leader())?.state === 'running' && (await writable(first)), {
      what: 'pg1 to bootstrap and lead',
      timeoutMillis: startTimeoutMillis,
      logTail: () => first.logTail(),
    })
    for (const member of rest) await member.start()
    await cluster.ready(startTimeoutMillis)
    return cluster
  } catch (error) {
    await Promise.allSettled(members.map((member) => member.kill()))
    await etcd?.kill()
    destroyClusterDir(runDir)
    for (const reservation of ports) reservation.release()
    throw error
  }
}

class RunningPatroniCluster implements PatroniCluster {
  readonly members: readonly PatroniMember[]
  readonly etcdUrl: string
  readonly #runDir: string
  readonly #ports: readonly PortReservation[]
  readonly #etcd: BackgroundProcess
  readonly #synchronousMode: boolean
  #closed: Promise<void> | undefined

  constructor(
    runDir: string,
    ports: readonly PortReservation[],
    etcd: BackgroundProcess,
    members: readonly PatroniMember[],
    etcdPort: number,
    synchronousMode: boolean,
  ) {
    this.#runDir = runDir
    this.#synchronousMode = synchronousMode
    this.#ports = ports
    this.#etcd = etcd
    this.members = members
    this.etcdUrl = `http://127.0.0.1:${etcdPort}`
  }

  member(name: string): PatroniMember {
    const member = this.members.find((m) => m.name === name)
    if (!member) throw new HarnessError(`no Patroni member named ${name}`)
    return member
  }

  view(): Promise<PatroniClusterView | undefined> {
    return anyClusterView(this.members.filter((m) => m.running).map((m) => m.restUrl))
  }

  async leader(): Promise<PatroniLeader | undefined> {
    const entry = (await this.view())?.members.find((m) => m.role === 'leader')
    return entry && { member: this.member(entry.name), state: entry.state, timeline: entry.timeline }
  }

  async switchover(to?: string): Promise<string> {
    const before = await this.leader()
    if (!before) throw new HarnessError('switchover: Patroni reports no leader')
    await postSwitchover(before.member.restUrl, before.member.name, to)
    const after = await waitFor(
      async () => {
        const now = await this.leader()
        return now && now.member !== before.member && now.state === 'running' && now.member.name
      },
      { what: `a new leader after the switchover from ${before.member.name}`, timeoutMillis: 30_000 },
    )
    return after
  }

  async killLeader(): Promise<string> {
    const leader = await this.leader()
    if (!leader) throw new HarnessError('killLeader: Patroni reports no leader')
    await leader.member.kill()
    return leader.member.name
  }

  async ready(timeoutMillis = 60_000): Promise<void> {
    const expected = () => this.members.filter((m) => m.running).length
    await waitFor(async () => (await this.#unready(expected())) === undefined, {
      what: 'a running leader with every replica streaming',
      timeoutMillis,
      logTail: () => this.members.map((m) => `[${m.name}]\n${m.logTail(8)}`).join('\n'),
    })
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** Why the cluster is not ready yet, or undefined when it is. */
  async #unready(expected: number): Promise<string | undefined> {
    const view = await this.view()
    if (!view) return 'no member answers'
    const leader = view.members.find((m) => m.role === 'leader')
    if (leader?.state !== 'running') return 'no running leader'
    const replicas = view.members.filter((m) => m !== leader)
    if (replicas.length !== expected - 1) return `${replicas.length + 1} of ${expected} members known`
    if (replicas.some((m: PatroniClusterMember) => m.state !== 'running' || typeof m.lag !== 'number')) {
      return 'a replica is not running'
    }
    // Until Patroni has named a synchronous standby, it refuses a switchover.
    if (this.#synchronousMode && replicas.length > 0 && !replicas.some((m) => m.role === 'sync_standby')) {
      return 'no synchronous standby yet'
    }
    const [{ streaming }] = (await queryOnce<{ streaming: number }>(
      this.member(leader.name).url,
      `select count(*)::int as streaming from pg_stat_replication where state = 'streaming'`,
    )) as [{ streaming: number }]
    return streaming === expected - 1 ? undefined : `${streaming} of ${expected - 1} replicas stream`
  }

  async #close(): Promise<void> {
    // SIGTERM lets each Patroni stop its server cleanly (about 4 s); what outlasts it is SIGKILLed below.
    await Promise.allSettled(this.members.map((member) => member.stop(15_000)))
    await this.#etcd.stop('SIGTERM', 5_000)
    destroyClusterDir(this.#runDir)
    releaseClusterDir(this.#runDir)
    for (const reservation of this.#ports) reservation.release()
  }
}

/** Whether the member's server takes writes (not in recovery). */
async function writable(member: PatroniMember): Promise<boolean> {
  const [row] = await member.query<{ recovery: boolean }>('select pg_is_in_recovery() as recovery')
  return row?.recovery === false
}
