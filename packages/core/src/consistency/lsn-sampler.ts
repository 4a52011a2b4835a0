import { normalizeInsertLsn, parseLsn, type WalLayout } from './lsn.js'
import type { ConsistencyToken } from './token.js'

/** Runs the sampling query on the node a write went to. */
export type SampleQuery = () => Promise<{ lsn: string; timeline: number; systemId: string }>

/**
 * The SQL of a token capture. `pg_current_wal_insert_lsn()` read after a write was
 * acknowledged is at or past that write's commit record: it is a valid token for it
 * and for every other write acknowledged before this query was sent.
 */
export const SAMPLE_SQL = `select pg_current_wal_insert_lsn()::text as lsn,
  ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::int as timeline`

/**
 * Amortised token capture on one primary. Every write asks for a sample taken
 * after it was acknowledged; one query in flight serves every caller that asked
 * before it was sent, and callers that ask meanwhile share the next one. Under load
 * that is one small query per round trip, however many writes there are, and none
 * of it on a write's own path.
 */
export class LsnSampler {
  readonly #query: SampleQuery
  readonly #layout: () => WalLayout
  #running: Promise<ConsistencyToken> | undefined
  #next: Promise<ConsistencyToken> | undefined

  constructor(query: SampleQuery, layout: () => WalLayout) {
    this.#query = query
    this.#layout = layout
  }

  /** A token covering every write acknowledged before this call. */
  sample(): Promise<ConsistencyToken> {
    if (!this.#running) return this.#start()
    // The query in flight was sent before this call: it may miss the caller's write.
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined
        return this.#start()
      })
    return this.#next
  }

  #start(): Promise<ConsistencyToken> {
    const running = this.#query().then((row) => ({
      systemId: row.systemId,
      timeline: row.timeline,
      lsn: normalizeInsertLsn(parseLsn(row.lsn), this.#layout()),
    }))
    this.#running = running
    const clear = () => {
      if (this.#running === running) this.#running = undefined
    }
    running.then(clear, clear)
    return running
  }
}
