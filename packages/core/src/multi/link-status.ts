/** The state of a link: applying, disabled, without an apply worker, lagging, or not yet known. */
export type LinkState = 'streaming' | 'disabled' | 'down' | 'lagging' | 'unknown'

/** One logical-replication link in `status()`, from the subscriber primary's own views. */
export interface LinkStatus {
  readonly from: string
  readonly to: string
  readonly subscription: string
  readonly state: LinkState
  /** `pg_subscription.subenabled`. */
  readonly enabled: boolean | undefined
  /** Everything of `from` up to this LSN is applied in `to` (`pg_stat_subscription.latest_end_lsn`). */
  readonly appliedLsn: string | undefined
  /** `from`'s current WAL position minus `appliedLsn`. */
  readonly lagBytes: number | undefined
  /** `pg_stat_subscription_stats.apply_error_count`. */
  readonly applyErrors: number
  /** `pg_stat_subscription_stats.confl_*` counters, by conflict kind (`insert_exists`, …). */
  readonly conflicts: Readonly<Record<string, number>>
  /** Why the link could not be read, if it could not. */
  readonly error: string | undefined
  /** When the link was last read (epoch ms). */
  readonly checkedAt: number | undefined
}
