import type { FallbackReason } from './cluster-events.js'

/** Cluster-wide counters, updated on the query path and shown by `status()`. */
export interface Counters {
  readonly fallbacks: Record<FallbackReason, number>
  readRetries: number
  misclassifiedWrites: number
  staleTokens: number
  /**
   * Reads sent to a replica not yet known to have replayed their token (they do not
   * wait: the proof rides with the read), and how many of those found it fresh.
   */
  replayWaits: number
  replayWaitsSatisfied: number
  mirrorWaits: number
  mirrorTimeouts: number
}

/** A fresh set of counters, all zero. */
export function createCounters(): Counters {
  return {
    fallbacks: {
      'no-replica': 0,
      'all-replicas-unhealthy': 0,
      'all-replicas-lagging': 0,
      'not-caught-up': 0,
      'capture-pending': 0,
    },
    readRetries: 0,
    misclassifiedWrites: 0,
    staleTokens: 0,
    replayWaits: 0,
    replayWaitsSatisfied: 0,
    mirrorWaits: 0,
    mirrorTimeouts: 0,
  }
}
