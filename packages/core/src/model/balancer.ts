/** What a balancer sees of an eligible replica. */
export interface Candidate {
  readonly name: string
  /** The configured weight, default 1. */
  readonly weight: number
  /** Queries running on the node now, through this cluster. */
  readonly inFlight: number
  /** Latency EWMA of recent queries, in ms; 0 before the first. */
  readonly latencyMillis: number
}

/**
 * A user's balancer: returns the index of the chosen candidate. Called only with
 * two or more candidates. An out-of-range answer falls back to the first. The
 * array is reused from read to read (no allocation per read): read it during the
 * call, do not keep it.
 *
 * @example
 * const preferLocal: BalancerFunction = (candidates) =>
 *   Math.max(0, candidates.findIndex((c) => c.name.startsWith('eu-')))
 */
export type BalancerFunction = (candidates: readonly Candidate[]) => number

/** The built-in balancers. */
export type BalancerName = 'least-busy' | 'round-robin' | 'random' | 'fastest'

/** A balancer instance: state (rotation, counters) lives inside. */
export interface Balancer {
  pick(candidates: readonly Candidate[]): number
}
