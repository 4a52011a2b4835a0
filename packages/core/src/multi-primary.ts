import { AsyncLocalStorage } from 'node:async_hooks'
import type pg from 'pg'
import { classifySql } from './classify/classify-sql.js'
import { loadSqlParser } from './classify/sql-parser.js'
import { type Cluster, createCluster, ownPrimaryQuery } from './cluster.js'
import type { ConsistencyToken, TokenSecrets } from './consistency/token.js'
import { mergeTokens, parseToken, serializeToken } from './consistency/token.js'
import { CausewayError } from './errors/causeway-error.js'
import { describeStatement } from './events/event-hub.js'
import { LinkMonitor } from './multi/link-monitor.js'
import type { LinkStatus } from './multi/link-status.js'
import type { MultiPrimaryEventName, MultiPrimaryEvents, MultiPrimaryListener } from './multi/multi-events.js'
import type { MultiPrimaryConfig } from './multi/multi-primary-config.js'
import { MultiSession } from './multi/multi-session.js'
import { parseMultiToken, serializeMultiToken } from './multi/multi-token.js'
import { translateToken } from './multi/translate-token.js'
import type { ClusterStatus } from './status/cluster-status.js'
import { redact, registerSecret } from './util/redact.js'

/** Options of `multi.session()`. */
export interface MultiSessionOptions {
  /** This session's home group (reads, and writes unless routed). Default: the config's `home`. */
  readonly home?: string
  /** A routing key (tenant, region) the `route` function sees. */
  readonly key?: string
  /** Continue from a multi-group token another process handed over (`multi.token()` there). */
  readonly token?: string
}

/** A snapshot of a multi-primary cluster. */
export interface MultiPrimaryStatus {
  readonly home: string
  /** Each group's own status. */
  readonly groups: Readonly<Record<string, ClusterStatus>>
  /** Every logical-replication link, as its subscriber's primary reports it. */
  readonly links: readonly LinkStatus[]
  /**
   * Reads that had to see a write of another group: served in the home group
   * (`home`), or sent back to a group the link had not caught up for (`origin`).
   */
  readonly crossGroupReads: { readonly home: number; readonly origin: number }
}

const GROUP_NAME = /^[a-z][a-z0-9_]{0,62}$/

/**
 * Several writable groups (a primary with its streaming replicas each) joined by
 * logical replication, as one routed database. Each group is a {@link Cluster}
 * with all of its rules (health, lag, failover, read-your-writes); this class
 * adds routing between groups and read-your-writes across them. Made by
 * {@link createMultiPrimary}.
 *
 * @example
 * const multi = createMultiPrimary({
 *   groups: { eu: { primary: 'postgres://app@eu1/app', replicas: ['postgres://app@eu2/app'] },
 *             us: { primary: 'postgres://app@us1/app', replicas: ['postgres://app@us2/app'] } },
 *   home: 'eu',
 *   links: [{ from: 'eu', to: 'us', subscription: 'eu_to_us' }, { from: 'us', to: 'eu', subscription: 'us_to_eu' }],
 *   route: (_statement, session) => session.key, // a tenant's writes go to its group
 * })
 * await multi.session(async () => {
 *   await multi.query('insert into notes values ($1)', ['hi']) // us's primary
 *   await multi.query('select * from notes')                   // eu, once eu has applied it; else us
 * }, { home: 'eu', key: 'us' })
 */
export class MultiPrimary {
  readonly #config: MultiPrimaryConfig
  readonly #clusters: ReadonlyMap<string, Cluster>
  readonly #groupSecrets: ReadonlyMap<string, TokenSecrets | undefined>
  readonly #secrets: TokenSecrets | undefined
  readonly #storage = new AsyncLocalStorage<MultiSession>()
  readonly #processSession: MultiSession
  readonly #monitor: LinkMonitor
  readonly #listeners = new Map<MultiPrimaryEventName, Set<(payload: never) => void>>()
  readonly #maxWaitMillis: number
  readonly #counts = { home: 0, origin: 0 }
  #closing: Promise<void> | undefined

  /** Use {@link createMultiPrimary}. */
  constructor(config: MultiPrimaryConfig) {
    const names = Object.keys(config.groups ?? {})
    const invalid = (message: string) => new CausewayError('CONFIG_INVALID', `multi-primary: ${message}`)
    if (names.length < 1) throw invalid('groups: at least one group is needed')
    for (const name of names)
      if (!GROUP_NAME.test(name)) throw invalid(`groups.${name}: a name is [a-z][a-z0-9_]*`)
    if (!names.includes(config.home)) throw invalid(`home: "${config.home}" is not a group`)
    for (const [i, link] of (config.links ?? []).entries()) {
      if (!names.includes(link.from) || !names.includes(link.to) || link.from === link.to) {
        throw invalid(`links[${i}]: from and to must be two different groups`)
      }
    }
    const maxWait = config.consistency?.maxWaitMillis ?? 50
    if (!Number.isFinite(maxWait) || maxWait < 0) throw invalid('consistency.maxWaitMillis: a number ≥ 0')
    this.#config = config
    this.#maxWaitMillis = maxWait
    this.#secrets = secretList(config.consistency?.tokenSecret)
    for (const secret of this.#secrets ?? []) registerSecret(secret)
    this.#groupSecrets = new Map(
      names.map((name) => [name, secretList(config.groups[name]?.consistency?.tokenSecret)]),
    )
    this.#clusters = new Map(names.map((name) => [name, createCluster(config.groups[name]!)]))
    this.#processSession = new MultiSession(config.home, undefined, new Map())
    this.#monitor = new LinkMonitor({
      links: config.links ?? [],
      groups: names,
      // Causeway's own query: on the primary's side connection, not an app statement.
      query: (group, sql, parameters) => ownPrimaryQuery(this.group(group), sql, [...parameters]),
      emit: (event, payload) => this.#emit(event, payload),
      pollMillis: config.linkPollMillis ?? 1000,
      maxLagBytes: config.maxLinkLag?.bytes,
    })
    for (const [name, cluster] of this.#clusters) {
      cluster.on('primary-changed', ({ from, to }) => {
        if (from === undefined) return
        const links = (config.links ?? [])
          .filter((link) => link.from === name || link.to === name)
          .map((link) => link.subscription)
        this.#emit('link-failover', { group: name, from, to, links })
        void this.#monitor.refresh(name)
      })
    }
    this.#monitor.start()
  }

  /** Resolves once every group is ready and every link has been read once. */
  async ready(): Promise<void> {
    await Promise.all([...this.#clusters.values()].map((cluster) => cluster.ready()))
    await this.#monitor.pollAll()
  }

  /** The {@link Cluster} of a group: for its transactions, its events, `promote()`. */
  group(name: string): Cluster {
    const cluster = this.#clusters.get(name)
    if (!cluster) throw new CausewayError('UNKNOWN_NODE', `multi-primary: no group named "${name}"`)
    return cluster
  }

  /** Every group's status, every link's, and the cross-group read counts. */
  status(): MultiPrimaryStatus {
    return {
      home: this.#config.home,
      groups: Object.fromEntries([...this.#clusters].map(([name, cluster]) => [name, cluster.status()])),
      links: this.#monitor.status(),
      crossGroupReads: { ...this.#counts },
    }
  }

  /** Reads every link now, and returns the status. */
  async checkLinks(): Promise<MultiPrimaryStatus> {
    await this.#monitor.pollAll()
    return this.status()
  }

  /**
   * Runs raw SQL. A write (anything but a single plain read) goes to the primary
   * of the group `route` names, else of the session's home, and its position is
   * kept. A read goes to the session's home group, by that group's rules, once
   * the home group has applied every write this session made elsewhere; when a
   * link cannot show that within `consistency.maxWaitMillis`, the read goes back
   * to the group of the write (`cross-group-fallback`). Never a stale read.
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    parameters: readonly unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    await loadSqlParser()
    const session = this.#storage.getStore() ?? this.#processSession
    if (classifySql(sql).intent === 'read') return this.#read<R>(session, sql, parameters)
    const routed = this.#config.route?.({ sql, parameters }, { home: session.home, key: session.key })
    const name = routed ?? session.home
    const cluster = this.group(name)
    return cluster.session(async () => {
      const run = () => cluster.query<R>(sql, parameters)
      const result = await (session.onPrimary ? cluster.onPrimary(run) : run())
      const text = await cluster.token()
      if (text !== undefined) session.wrote(name, parseToken(text, this.#groupSecrets.get(name)))
      return result
    })
  }

  /**
   * Runs `fn` in a read-your-writes session across groups. `home` overrides the
   * home group, `key` is handed to `route`, `token` continues another process's session.
   */
  async session<T>(fn: () => T | Promise<T>, options: MultiSessionOptions = {}): Promise<T> {
    const home = options.home ?? this.#storage.getStore()?.home ?? this.#config.home
    this.group(home)
    const tokens =
      options.token === undefined
        ? new Map<string, ConsistencyToken>()
        : new Map(parseMultiToken(options.token, new Set(this.#clusters.keys()), this.#secrets))
    return this.#storage.run(new MultiSession(home, options.key, tokens), fn)
  }

  /** The current session's multi-group token (`cwm1~…`), or undefined before its first write. */
  async token(): Promise<string | undefined> {
    const session = this.#storage.getStore() ?? this.#processSession
    return session.tokens.size === 0 ? undefined : serializeMultiToken(session.tokens, this.#secrets)
  }

  /** Whether `text` is a multi-group token this cluster accepts. */
  isValidToken(text: string): boolean {
    try {
      parseMultiToken(text, new Set(this.#clusters.keys()), this.#secrets)
      return true
    } catch {
      return false
    }
  }

  /** Runs `fn` with every statement on a primary (reads on the home group's). */
  async onPrimary<T>(fn: () => T | Promise<T>): Promise<T> {
    const session = this.#storage.getStore() ?? this.#processSession
    return this.#storage.run(session.withPrimary(), fn)
  }

  /** Listens to an event; returns a function that stops listening. */
  on<E extends MultiPrimaryEventName>(event: E, listener: MultiPrimaryListener<E>): () => void {
    let set = this.#listeners.get(event)
    if (!set) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener as (payload: never) => void)
    return () => this.off(event, listener)
  }

  /** Stops listening. */
  off<E extends MultiPrimaryEventName>(event: E, listener: MultiPrimaryListener<E>): void {
    this.#listeners.get(event)?.delete(listener as (payload: never) => void)
  }

  /** Stops the link monitor and closes every group. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#monitor.stop()
      await Promise.all([...this.#clusters.values()].map((cluster) => cluster.close()))
    })()
    return this.#closing
  }

  async #read<R extends pg.QueryResultRow>(
    session: MultiSession,
    sql: string,
    parameters: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const deadline = Date.now() + this.#maxWaitMillis
    const candidates = [session.home, ...[...session.tokens.keys()].filter((g) => g !== session.home)]
    let firstReason: MultiPrimaryEvents['cross-group-fallback']['reason'] | undefined
    for (const group of candidates) {
      let need = session.tokens.get(group)
      let crossGroup = false
      let failed = false
      for (const [origin, token] of session.tokens) {
        if (origin === group) continue
        crossGroup = true
        const translation = await translateToken(this.#monitor, origin, group, token, deadline)
        if (!translation.ok) {
          firstReason ??= translation.reason
          failed = true
          break
        }
        if (translation.token) need = mergeTokens(need, translation.token)
      }
      if (failed) continue
      if (crossGroup || group !== session.home) this.#counts[group === session.home ? 'home' : 'origin']++
      if (group !== session.home) {
        this.#emit('cross-group-fallback', {
          home: session.home,
          servedIn: group,
          reason: firstReason ?? 'timeout',
          statement: describeStatement(sql),
        })
      }
      return this.#readIn<R>(group, need, session.onPrimary, sql, parameters)
    }
    throw new CausewayError(
      'NO_PRIMARY',
      `multi-primary: no group has applied every write of this session (${firstReason ?? 'no link'}); the read was not sent`,
    )
  }

  #readIn<R extends pg.QueryResultRow>(
    group: string,
    need: ConsistencyToken | undefined,
    onPrimary: boolean,
    sql: string,
    parameters: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const cluster = this.group(group)
    const run = () => cluster.query<R>(sql, parameters)
    const token = need === undefined ? undefined : serializeToken(need, this.#groupSecrets.get(group))
    return cluster.session(
      () => (onPrimary ? cluster.onPrimary(run) : run()),
      token === undefined ? {} : { token },
    )
  }

  #emit<E extends MultiPrimaryEventName>(event: E, payload: MultiPrimaryEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        ;(listener as MultiPrimaryListener<E>)(payload)
      } catch (error) {
        if (event !== 'listener-error') this.#emit('listener-error', { event, error: redact(String(error)) })
      }
    }
  }
}

function secretList(secret: string | readonly string[] | undefined): TokenSecrets | undefined {
  return secret === undefined ? undefined : typeof secret === 'string' ? [secret] : [...secret]
}

/**
 * Creates a {@link MultiPrimary}: one {@link Cluster} per group, and a monitor of
 * the logical-replication links between them. A bad config throws `CONFIG_INVALID`.
 */
export function createMultiPrimary(config: MultiPrimaryConfig): MultiPrimary {
  return new MultiPrimary(config)
}
