import { type Lsn, parseLsn } from '../consistency/lsn.js'
import { redact } from '../util/redact.js'
import type { LinkState, LinkStatus } from './link-status.js'
import type { MultiPrimaryEventName, MultiPrimaryEvents } from './multi-events.js'
import type { MultiLinkConfig } from './multi-primary-config.js'

/** Runs a query on a group's primary (the multi-primary cluster routes it). */
export type PrimaryQuery = (
  group: string,
  sql: string,
  parameters: readonly unknown[],
) => Promise<readonly Record<string, unknown>[]>

/** Who a group's primary is: its system, timeline and current WAL position, when last asked. */
export interface GroupIdentity {
  readonly systemId: string
  readonly timeline: number
  readonly lsn: Lsn
}

/**
 * A fact about a link, read on the subscriber's primary: everything of the
 * publisher up to `applied` is applied there, and the last change applied from
 * the publisher committed locally at `local` (undefined: none yet) on the
 * subscriber's system and timeline.
 */
export interface LinkSample {
  readonly applied: Lsn
  readonly local: Lsn | undefined
  readonly systemId: string
  readonly timeline: number
}

/**
 * Per group primary, in one query: the group's identity, and its incoming links.
 *
 * Why `latest_end_lsn` and not the origin's `remote_lsn`: measured on PostgreSQL
 * 18 (README, "Multi-primary"), both are exact, but `remote_lsn` is the end of
 * the last *applied commit*, so a token taken after WAL the link never carries
 * (a commit applied from a third group, a checkpoint) is never reached by it,
 * while `latest_end_lsn` (the publisher's position in the last keepalive, which
 * the apply worker handles only after applying and committing everything before
 * it) passes it within a keepalive.
 *
 * The origin's `local_lsn` is read in a subquery that runs after the join has read
 * `pg_stat_subscription`: every change behind `latest_end_lsn` then committed at or
 * before it, so a replica of the subscriber that has replayed it has them all.
 */
const LINKS_SQL = `select (select system_identifier::text from pg_control_system()) as system_id,
  substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as timeline,
  pg_current_wal_lsn()::text as current_lsn, l.*
from (select 1) as one left join lateral (
  select s.subname, s.subenabled as enabled, w.pid is not null as running,
    w.latest_end_lsn::text as applied_lsn,
    (select o.local_lsn::text from pg_replication_origin_status o
      where o.external_id = 'pg_' || s.oid::text
        and w.latest_end_lsn is not distinct from w.latest_end_lsn) as local_lsn,
    to_jsonb(st) as stats
  from pg_subscription s
  left join pg_stat_subscription w on w.subid = s.oid and w.worker_type = 'apply'
  left join pg_stat_subscription_stats st on st.subid = s.oid
  where s.subname = any($1::text[])
    and s.subdbid = (select oid from pg_database where datname = current_database())
) as l on true`

interface LinkEntry {
  readonly config: MultiLinkConfig
  sample: LinkSample | undefined
  enabled: boolean | undefined
  running: boolean | undefined
  appliedText: string | undefined
  applyErrors: number
  conflicts: Record<string, number>
  error: string | undefined
  checkedAt: number | undefined
  broken: boolean
  lagging: boolean
  seen: boolean
}

/**
 * Watches every link from the subscriber side (PostgreSQL 18's
 * `pg_stat_subscription_stats` for conflicts and apply errors, `subenabled`, the
 * apply worker), keeps the latest {@link LinkSample} of each, and emits
 * `link-broken`, `link-restored`, `link-conflict` and `link-lagging`.
 */
export class LinkMonitor {
  readonly #links: LinkEntry[]
  readonly #query: PrimaryQuery
  readonly #groups: readonly string[]
  readonly #emit: <E extends MultiPrimaryEventName>(event: E, payload: MultiPrimaryEvents[E]) => void
  readonly #pollMillis: number
  readonly #maxLagBytes: number | undefined
  readonly #identities = new Map<string, GroupIdentity>()
  readonly #inFlight = new Map<string, Promise<void>>()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: {
    links: readonly MultiLinkConfig[]
    groups: readonly string[]
    query: PrimaryQuery
    emit: <E extends MultiPrimaryEventName>(event: E, payload: MultiPrimaryEvents[E]) => void
    pollMillis: number
    maxLagBytes: number | undefined
  }) {
    this.#links = options.links.map((config) => ({
      config,
      sample: undefined,
      enabled: undefined,
      running: undefined,
      appliedText: undefined,
      applyErrors: 0,
      conflicts: {},
      error: undefined,
      checkedAt: undefined,
      broken: false,
      lagging: false,
      seen: false,
    }))
    this.#groups = options.groups
    this.#query = options.query
    this.#emit = options.emit
    this.#pollMillis = options.pollMillis
    this.#maxLagBytes = options.maxLagBytes
  }

  /** Starts polling every group's primary. */
  start(): void {
    const tick = () => {
      if (this.#stopped) return
      void this.pollAll().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#pollMillis).unref()
      })
    }
    tick()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
  }

  /** Asks every group's primary now. */
  async pollAll(): Promise<void> {
    await Promise.all(this.#groups.map((group) => this.refresh(group)))
  }

  /** Asks `group`'s primary about itself and its incoming links; concurrent callers share one query. */
  refresh(group: string): Promise<void> {
    let running = this.#inFlight.get(group)
    if (!running) {
      running = this.#poll(group).finally(() => this.#inFlight.delete(group))
      this.#inFlight.set(group, running)
    }
    return running
  }

  /** The group's identity from its last answer. */
  identity(group: string): GroupIdentity | undefined {
    return this.#identities.get(group)
  }

  /** The link from `from` into `to`, if configured. */
  link(from: string, to: string): MultiLinkConfig | undefined {
    return this.#entry(from, to)?.config
  }

  /**
   * Whether the link may serve cross-group reads now: `'ok'`, or why not. A link
   * not read yet is `'ok'` so that a first read may ask; its answer decides.
   */
  health(from: string, to: string): 'ok' | 'link-broken' | 'link-lagging' {
    const entry = this.#entry(from, to)
    if (!entry) return 'link-broken'
    if (entry.broken) return 'link-broken'
    if (entry.lagging) return 'link-lagging'
    return 'ok'
  }

  /** The latest fact about the link, if any. */
  sample(from: string, to: string): LinkSample | undefined {
    return this.#entry(from, to)?.sample
  }

  /** Every link as `status()` shows it. */
  status(): LinkStatus[] {
    return this.#links.map((entry) => ({
      from: entry.config.from,
      to: entry.config.to,
      subscription: entry.config.subscription,
      state: this.#state(entry),
      enabled: entry.enabled,
      appliedLsn: entry.appliedText,
      lagBytes: this.#lag(entry),
      applyErrors: entry.applyErrors,
      conflicts: { ...entry.conflicts },
      error: entry.error,
      checkedAt: entry.checkedAt,
    }))
  }

  #entry(from: string, to: string): LinkEntry | undefined {
    return this.#links.find((entry) => entry.config.from === from && entry.config.to === to)
  }

  #state(entry: LinkEntry): LinkState {
    if (entry.checkedAt === undefined || entry.error !== undefined) return 'unknown'
    if (entry.enabled === false) return 'disabled'
    if (entry.broken) return 'down'
    return entry.lagging ? 'lagging' : 'streaming'
  }

  #lag(entry: LinkEntry): number | undefined {
    const publisher = this.#identities.get(entry.config.from)
    const applied = entry.sample
    if (!publisher || !applied || entry.appliedText === undefined) return undefined
    const lag = publisher.lsn - applied.applied
    return lag > 0n ? Number(lag) : 0
  }

  async #poll(group: string): Promise<void> {
    const incoming = this.#links.filter((entry) => entry.config.to === group)
    let rows: readonly Record<string, unknown>[]
    try {
      rows = await this.#query(group, LINKS_SQL, [incoming.map((entry) => entry.config.subscription)])
    } catch (error) {
      // The group's primary did not answer: its links are unknown, not broken.
      for (const entry of incoming)
        entry.error = redact(error instanceof Error ? error.message : String(error))
      return
    }
    const first = rows[0]
    if (first) {
      this.#identities.set(group, {
        systemId: String(first.system_id),
        timeline: Number.parseInt(String(first.timeline), 16),
        lsn: parseLsn(String(first.current_lsn)),
      })
    }
    const identity = this.#identities.get(group)
    for (const entry of incoming) {
      const row = rows.find((r) => r.subname === entry.config.subscription)
      this.#update(entry, row, identity)
    }
  }

  #update(
    entry: LinkEntry,
    row: Record<string, unknown> | undefined,
    identity: GroupIdentity | undefined,
  ): void {
    const { from, to, subscription } = entry.config
    entry.checkedAt = Date.now()
    entry.error = undefined
    entry.enabled = row ? row.enabled === true : undefined
    entry.running = row ? row.running === true : undefined
    const stats = (row?.stats ?? {}) as Record<string, unknown>
    const applyErrors = Number(stats.apply_error_count ?? 0)
    const conflicts: Record<string, number> = {}
    for (const [name, value] of Object.entries(stats)) {
      if (name.startsWith('confl_')) conflicts[name.slice('confl_'.length)] = Number(value)
    }
    // Counters first seen are a baseline, not news.
    if (entry.seen) {
      const delta: Record<string, number> = {}
      for (const [kind, count] of Object.entries(conflicts)) {
        const grown = count - (entry.conflicts[kind] ?? 0)
        if (grown > 0) delta[kind] = grown
      }
      if (Object.keys(delta).length > 0)
        this.#emit('link-conflict', { from, to, subscription, conflicts: delta })
    }
    const newErrors = entry.seen && applyErrors > entry.applyErrors
    entry.conflicts = conflicts
    entry.applyErrors = applyErrors
    entry.seen = true

    const reason = !row
      ? 'the subscription does not exist'
      : entry.enabled === false
        ? 'the subscription is disabled'
        : entry.running === false
          ? newErrors
            ? 'the apply worker failed (apply_error_count grew)'
            : 'the subscription has no apply worker'
          : undefined
    if (reason !== undefined && !entry.broken) {
      entry.broken = true
      this.#emit('link-broken', { from, to, subscription, reason })
    } else if (reason === undefined && entry.broken) {
      entry.broken = false
      this.#emit('link-restored', { from, to, subscription })
    }

    const appliedText = typeof row?.applied_lsn === 'string' ? row.applied_lsn : undefined
    if (appliedText !== undefined && identity) {
      const applied = parseLsn(appliedText)
      const local = typeof row?.local_lsn === 'string' ? parseLsn(row.local_lsn) : undefined
      const old = entry.sample
      // A worker that restarts reports no position until its first keepalive; a
      // fact already seen stays true on the same system and timeline.
      const sameServer = old && old.systemId === identity.systemId && old.timeline === identity.timeline
      if (!sameServer || applied >= old.applied) {
        entry.sample = { applied, local, systemId: identity.systemId, timeline: identity.timeline }
        entry.appliedText = appliedText
      }
    }
    const lag = this.#lag(entry)
    const lagging = this.#maxLagBytes !== undefined && lag !== undefined && lag > this.#maxLagBytes
    if (lagging !== entry.lagging) {
      entry.lagging = lagging
      this.#emit('link-lagging', { from, to, subscription, lagBytes: lag ?? 0, lagging })
    }
  }
}
