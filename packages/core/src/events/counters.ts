import type { FallbackReason } from './cluster-events.js'

/** Cluster-wide counters, updated on the query path and shown by `status()`. */
export interface Counters {
  readonly fallbacks: Record<FallbackReason, number>
  readRetries: number
  misclassifiedWrites: number
  staleTokens: number
  /** Reads that waited for a replica to replay their token, and how many of those waits found one. */
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
