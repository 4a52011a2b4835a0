import type { ResolvedSync } from '../config/config-schema.js'
import { type ConsistencyToken, mergeTokens } from './token.js'

/**
 * Where the token of a run of work lives: a `cluster.session()`, or the process
 * scope outside any session. A write's token is captured in the background after
 * it is acknowledged; the scope's next read waits for that capture, not the write.
 */
export class ConsistencyScope {
  #token: ConsistencyToken | undefined
  #pending: Promise<void> | undefined
  #primaryOnly = false
  /** Synchronous mirroring for writes of this scope, overriding the cluster's. */
  readonly sync: ResolvedSync | undefined
  /** True when the session turned the cluster's synchronous mirroring off. */
  readonly syncOff: boolean

  constructor(token?: ConsistencyToken, sync?: ResolvedSync, syncOff = false) {
    this.#token = token
    this.sync = sync
    this.syncOff = syncOff
  }

  /** The token so far, without waiting for a capture in flight. */
  get token(): ConsistencyToken | undefined {
    return this.#token
  }

  /** A capture in flight, or undefined. */
  get pending(): Promise<void> | undefined {
    return this.#pending
  }

  /**
   * True when a capture failed: the scope's last write has no token, so its reads
   * go to the primary until the next write is captured.
   */
  get primaryOnly(): boolean {
    return this.#primaryOnly
  }

  /** Folds in a token known now (a continued session, or a synchronous capture). */
  advance(token: ConsistencyToken): void {
    this.#token = mergeTokens(this.#token, token)
  }

  /** Folds in a token being captured; reads of this scope wait for it. */
  capture(token: Promise<ConsistencyToken>): Promise<void> {
    const pending: Promise<void> = token.then(
      (value) => {
        this.advance(value)
        this.#primaryOnly = false
      },
      () => {
        // Without a token, a replica could miss this write: be safe until the next one.
        this.#primaryOnly = true
      },
    )
    const settled = pending.finally(() => {
      if (this.#pending === settled) this.#pending = undefined
    })
    this.#pending = settled
    return settled
  }
}
