import type { ClusterNode } from './cluster-node.js'
import { HarnessError } from './harness-error.js'
import type { SettingValue } from './server-config.js'
import { startCluster } from './start-cluster.js'
import type { TestCluster } from './test-cluster.js'
import { waitFor } from './wait-for.js'

/** Options of {@link startMultiPrimary}. Every one is optional. */
export interface StartMultiPrimaryOptions {
  /** How many groups (each a primary and its replicas). Default 2; ignored when `names` is given. */
  readonly groups?: number
  /** The groups' names. Default `g1`, `g2`… */
  readonly names?: readonly string[]
  /** Streaming replicas per group. Default 1. */
  readonly replicas?: number
  /** Extra `postgresql.conf` settings for every node (`wal_level = logical` is always set). */
  readonly settings?: Readonly<Record<string, SettingValue>>
  /** The directory that holds clusters (see `startCluster`). */
  readonly dataDir?: string
  /** How long a server may take to start, a replica to stream, a link to come up. Default 30,000 ms. */
  readonly startTimeoutMillis?: number
  /** Called with a line of progress as the groups start. */
  readonly onProgress?: (message: string) => void
}

/** One logical-replication link: `to`'s primary subscribes to `from`'s publication. */
export interface TestLink {
  readonly from: string
  readonly to: string
  /** The subscription's name on `to`'s primary (`causeway_<from>_to_<to>`). */
  readonly subscription: string
}

/** Several writable groups joined both ways by logical replication, made by {@link startMultiPrimary}. */
export interface MultiPrimaryTestCluster {
  /** Each group's cluster (a primary and its streaming replicas), by name. */
  readonly groups: Readonly<Record<string, TestCluster>>
  /** The group names, in order. */
  readonly names: readonly string[]
  /** Every link, one per ordered pair of groups. */
  readonly links: readonly TestLink[]
  /**
   * Runs DDL on every group's primary (logical replication does not carry DDL),
   * then refreshes every subscription so that new tables replicate, and waits
   * until every link is streaming again.
   */
  ddl(sql: string): Promise<void>
  /** `ALTER SUBSCRIPTION … DISABLE`: the link from `from` into `to` stops applying. */
  pauseLink(from: string, to: string): Promise<void>
  /** `ALTER SUBSCRIPTION … ENABLE`, and waits until the link streams again. */
  resumeLink(from: string, to: string): Promise<void>
  /** Stops every group. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Starts `groups` real PostgreSQL 18 clusters (each a primary with `replicas`
 * streaming replicas, `wal_level = logical`) and links every pair of primaries
 * both ways: a `FOR ALL TABLES` publication on each, and on each other a
 * subscription `WITH (origin = none, copy_data = false)`, so a change made in one
 * group is applied in every other group once, and never echoed back.
 *
 * Tables must exist in every group (use `ddl()`); keys must not collide across
 * groups unless a test wants a conflict.
 *
 * @example
 * const multi = await startMultiPrimary({ names: ['eu', 'us'], replicas: 1 })
 * await multi.ddl('create table notes (id text primary key, body text)')
 * await multi.groups.eu!.primary.query(`insert into notes values ('a', 'hello')`) // soon in us too
 * await multi.close()
 */
export async function startMultiPrimary(
  options: StartMultiPrimaryOptions = {},
): Promise<MultiPrimaryTestCluster> {
  const names = options.names ?? Array.from({ length: options.groups ?? 2 }, (_, i) => `g${i + 1}`)
  if (
    names.length < 2 ||
    new Set(names).size !== names.length ||
    names.some((n) => !/^[a-z][a-z0-9_]*$/.test(n))
  ) {
    throw new RangeError(
      `startMultiPrimary: need at least 2 distinct group names of [a-z0-9_], got ${JSON.stringify(names)}`,
    )
  }
  const timeout = options.startTimeoutMillis ?? 30_000
  const started: TestCluster[] = []
  const close = async () => {
    await Promise.allSettled(started.map((group) => group.close()))
  }
  try {
    for (const name of names) {
      options.onProgress?.(`group ${name}`)
      started.push(
        await startCluster({
          replicas: options.replicas ?? 1,
          settings: { ...options.settings, wal_level: 'logical' },
          fromEnv: false,
          startTimeoutMillis: timeout,
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
          ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        }),
      )
    }
    const groups = Object.fromEntries(names.map((name, i) => [name, started[i]!]))
    const links: TestLink[] = names.flatMap((from) =>
      names
        .filter((to) => to !== from)
        .map((to) => ({ from, to, subscription: `causeway_${from}_to_${to}` })),
    )
    const primaryOf = (name: string): ClusterNode => {
      const group = groups[name]
      if (!group) throw new RangeError(`no group named ${JSON.stringify(name)}`)
      return group.primary
    }
    const linkOf = (from: string, to: string): TestLink => {
      const link = links.find((l) => l.from === from && l.to === to)
      if (!link) throw new RangeError(`no link from ${JSON.stringify(from)} to ${JSON.stringify(to)}`)
      return link
    }
    const waitLinks = async (which: readonly TestLink[]) => {
      await Promise.all(which.map((link) => waitLink(primaryOf(link.to), link.subscription, timeout)))
    }
    for (const name of names)
      await primaryOf(name).query(`create publication causeway_pub_${name} for all tables`)
    for (const link of links) {
      await primaryOf(link.to).query(
        `create subscription ${link.subscription} connection '${conninfoOf(primaryOf(link.from)).replaceAll("'", "''")}'
         publication causeway_pub_${link.from} with (origin = none, copy_data = false)`,
      )
    }
    await waitLinks(links)
    options.onProgress?.(`linked ${links.map((l) => `${l.from}→${l.to}`).join(', ')}`)
    return {
      groups,
      names,
      links,
      ddl: async (sql) => {
        for (const name of names) await primaryOf(name).query(sql)
        for (const link of links) {
          await primaryOf(link.to).query(
            `alter subscription ${link.subscription} refresh publication with (copy_data = false)`,
          )
        }
        await waitLinks(links)
      },
      pauseLink: async (from, to) => {
        const link = linkOf(from, to)
        await primaryOf(to).query(`alter subscription ${link.subscription} disable`)
      },
      resumeLink: async (from, to) => {
        const link = linkOf(from, to)
        await primaryOf(to).query(`alter subscription ${link.subscription} enable`)
        await waitLinks([link])
      },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** A libpq conninfo for `node`'s superuser, from its URL. */
function conninfoOf(node: ClusterNode): string {
  const url = new URL(node.url)
  const quote = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
  return [
    `host=${url.hostname}`,
    `port=${url.port}`,
    `user=${quote(decodeURIComponent(url.username))}`,
    `password=${quote(decodeURIComponent(url.password))}`,
    `dbname=${quote(url.pathname.slice(1) || 'postgres')}`,
    'application_name=causeway_link',
  ].join(' ')
}

/** Resolves once `subscription` on `node` has an apply worker and every table of it is ready. */
async function waitLink(node: ClusterNode, subscription: string, timeoutMillis: number): Promise<void> {
  try {
    await waitFor(
      async () => {
        const [row] = await node.query<{ running: boolean; pending: string }>(
          `select exists (select 1 from pg_stat_subscription s where s.subname = $1 and s.pid is not null
                            and s.relid is null) as running,
                  (select count(*) from pg_subscription_rel r join pg_subscription s on s.oid = r.srsubid
                     where s.subname = $1 and r.srsubstate <> 'r')::text as pending`,
          [subscription],
        )
        return row?.running === true && row.pending === '0'
      },
      { what: `subscription ${subscription} to apply`, timeoutMillis },
    )
  } catch (error) {
    throw new HarnessError(`startMultiPrimary: subscription ${subscription} did not start`, { cause: error })
  }
}
