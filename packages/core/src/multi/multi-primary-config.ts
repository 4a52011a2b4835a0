import type { ClusterConfig } from '../config/cluster-config.js'
import type { Statement } from '../model/statement.js'

/** What a route function sees of the session a write runs in. */
export interface MultiSessionInfo {
  /** The session's home group: where its reads go, and its writes unless routed. */
  readonly home: string
  /** The session's routing key (a tenant or a region), from `session(fn, { key })`. */
  readonly key: string | undefined
}

/**
 * Picks the group whose primary takes a write: a group name, or `undefined` for
 * the session's home group.
 */
export type MultiRoute = (
  statement: Pick<Statement, 'sql' | 'parameters'>,
  session: MultiSessionInfo,
) => string | undefined

/** One logical-replication link: `to`'s primary applies `from`'s changes through `subscription`. */
export interface MultiLinkConfig {
  readonly from: string
  readonly to: string
  /** The subscription's name on `to`'s primary. */
  readonly subscription: string
}

/** The configuration of {@link createMultiPrimary}. */
export interface MultiPrimaryConfig {
  /** Each group (a writable primary and its streaming replicas) as a cluster config, by name (`[a-z0-9_]+`). */
  readonly groups: Readonly<Record<string, ClusterConfig>>
  /** The default home group: reads go there, and writes unless routed. */
  readonly home: string
  /** Routes writes by statement or session; `undefined` (or no function) means the session's home. */
  readonly route?: MultiRoute
  /**
   * The logical-replication links between the groups. A cross-group read is served
   * in a group only through a link into it; without one it goes back to the
   * group of the write.
   */
  readonly links: readonly MultiLinkConfig[]
  /** A link whose applied position is further behind its publisher than this serves no cross-group read. Default: no bound. */
  readonly maxLinkLag?: { readonly bytes?: number }
  readonly consistency?: {
    /**
     * How long a read in one group waits for a link to apply another group's write
     * before it goes back to that group. Default 50 ms; `0` never waits.
     */
    readonly maxWaitMillis?: number
    /** Signs the multi-group tokens `token()` hands out, like a cluster's `consistency.tokenSecret`. */
    readonly tokenSecret?: string | readonly string[]
  }
  /** How often each group's primary is asked about its incoming links. Default 1,000 ms. */
  readonly linkPollMillis?: number
}
