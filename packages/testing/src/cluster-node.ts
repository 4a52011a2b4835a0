import type { StopMode } from './pg-server.js'

/**
 * One server of a test cluster. The same shape serves an embedded cluster and a
 * cluster you bring; on the latter the process controls (`stop`, `start`, `kill`,
 * `freeze`, `thaw`, `repoint`) throw, and {@link TestCluster.canControlProcesses} is false.
 */
export interface ClusterNode {
  /** A stable name: `pg1` is the first primary, `pg2`… the replicas, in order. */
  readonly name: string
  readonly port: number
  /** A `postgres://` URL for the superuser, with its password. Keep it out of logs. */
  readonly url: string
  /** Runs one statement on a short-lived connection and returns its rows. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]>
  /** Whether the server is a standby (`pg_is_in_recovery()`). */
  isInRecovery(): Promise<boolean>
  /** The timeline the server writes (primary) or has received (standby). */
  timeline(): Promise<number>
  /** Pauses WAL replay on a standby: it keeps receiving, but its data stops moving. Real lag. */
  pauseReplay(): Promise<void>
  /** Resumes WAL replay after {@link pauseReplay}. */
  resumeReplay(): Promise<void>
  /** Promotes a standby to a primary (`pg_promote()`), on a new timeline. Resolves once it is writable. */
  promote(): Promise<void>
  /**
   * Makes this standby stream from `upstream` (`ALTER SYSTEM SET primary_conninfo`
   * plus a reload, no restart), and resolves once it streams from there.
   */
  repoint(upstream: ClusterNode): Promise<void>
  /**
   * Shuts the server down: `fast` (default) ends sessions; `immediate` is a crash-like stop.
   * A frozen server is thawed first.
   */
  stop(options?: { mode?: StopMode }): Promise<void>
  /** Starts a stopped server again and resolves once it accepts connections. */
  start(): Promise<void>
  /**
   * SIGKILLs the server: the postmaster and every process below it (backends,
   * walsenders, checkpointer…), like a machine crash. Resolves once none of them
   * runs, so nothing of this server commits after it.
   */
  kill(): Promise<void>
  /**
   * SIGSTOPs every process of the server, postmaster first. The kernel still
   * accepts TCP connections on its port, but neither a new nor an open connection
   * gets an answer, until {@link thaw}: a hung server, not a dead one.
   */
  freeze(): Promise<void>
  /** SIGCONTs what {@link freeze} stopped; queries sent meanwhile then get their answers. */
  thaw(): Promise<void>
}
