/** Why a cross-group read went back to the group of the write. */
export type CrossGroupFallbackReason = 'no-link' | 'link-broken' | 'link-lagging' | 'timeout' | 'unverified'

/** The events of a multi-primary cluster and their payloads (each group's own events: `group(name).on`). */
export interface MultiPrimaryEvents {
  /** A link stopped applying: its subscription is disabled, has no apply worker, or its apply failed. */
  'link-broken': { from: string; to: string; subscription: string; reason: string }
  /** A broken link applies again. */
  'link-restored': { from: string; to: string; subscription: string }
  /** PostgreSQL counted new logical-replication conflicts on a link (`pg_stat_subscription_stats.confl_*`, deltas). */
  'link-conflict': {
    from: string
    to: string
    subscription: string
    conflicts: Readonly<Record<string, number>>
  }
  /** A link fell behind `maxLinkLag`, or caught up again (`lagging: false`). */
  'link-lagging': { from: string; to: string; subscription: string; lagBytes: number; lagging: boolean }
  /**
   * A group's primary changed (a failover inside the group). Its incoming
   * subscriptions moved with the catalog to the new primary, but the links out of
   * it need their slots on the new primary: Causeway does not re-create them, and
   * cross-group reads through these links stay refused until they apply again.
   */
  'link-failover': { group: string; from: string | undefined; to: string; links: readonly string[] }
  /** A read that should have been served in its session's home group went to the group of a write instead. */
  'cross-group-fallback': {
    home: string
    servedIn: string
    reason: CrossGroupFallbackReason
    statement: string
  }
  /** A listener threw; the cluster goes on. */
  'listener-error': { event: string; error: string }
}

/** The name of a multi-primary event. */
export type MultiPrimaryEventName = keyof MultiPrimaryEvents

/** A listener of one multi-primary event. */
export type MultiPrimaryListener<E extends MultiPrimaryEventName> = (payload: MultiPrimaryEvents[E]) => void
