import type { ResolvedSync } from '../config/config-schema.js'
import { type ConsistencyToken, mergeTokens } from './token.js'

/** How a scope starts. */
export interface ScopeOptions {
  /** A token handed over from another process. */
  readonly token?: ConsistencyToken
  /** Synchronous mirroring for this scope's writes, overriding the cluster's. */
  readonly sync?: ResolvedSync
  /** The session turned the cluster's synchronous mirroring off. */
  readonly syncOff?: boolean
  /**
   * The enclosing scope, to which the new scope passes everything it learns, so
   * that a session's writes are not hidden from the code around it.
   */
  readonly parent?: ConsistencyScope
  /**
   * Whether the new scope also starts from everything the parent has: true for a
   * session nested in a session, false under the process scope (or every request
   * would start from every other request's writes).
   */
  readonly inherit?: boolean
}

/**
 * Where the token of a run of work lives: a `cluster.session()`, or the process
 * scope outside any session. A write's token is captured in the background after
 * it is acknowledged; the scope's next read waits for that capture, not the write.
 */
export class ConsistencyScope {
  #token: ConsistencyToken | undefined
  #pending: Promise<void> | undefined
  /** Captures are numbered in the order they were asked for. */
  #captures = 0
  /** The newest capture that failed; a later successful one covers its write. */
  #failedCapture = 0
  /** Set by a write of unknown outcome: the capture count then. A later capture clears it. */
  #uncertainAfter: number | undefined
  readonly #parent: ConsistencyScope | undefined
  readonly sync: ResolvedSync | undefined
  readonly syncOff: boolean

  constructor(options: ScopeOptions = {}) {
    const parent = options.parent
    this.#parent = parent
    if (parent && options.inherit) {
      this.#token = parent.token
      if (parent.pending) this.#inherit(parent.pending)
      if (parent.primaryOnly) this.#uncertainAfter = 0
    }
    if (options.token) this.#token = mergeTokens(this.#token, options.token)
    this.sync = options.sync
    this.syncOff = options.syncOff ?? false
  }

  /** The token so far, without waiting for a capture in flight. */
  get token(): ConsistencyToken | undefined {
    return this.#token
  }

  /** Every capture in flight, settled together; undefined when none. */
  get pending(): Promise<void> | undefined {
    return this.#pending
  }

  /**
   * True when the scope's last write has no token (its capture failed, or its
   * outcome is unknown): its reads go to the primary until a later write is captured.
   */
  get primaryOnly(): boolean {
    return this.#uncertainAfter !== undefined || this.#failedCapture > 0
  }

  /** Folds in a token known now (a continued session, or a fresh capture). */
  advance(token: ConsistencyToken): void {
    this.#token = mergeTokens(this.#token, token)
    this.#parent?.advance(token)
  }

  /**
   * Folds in a token being captured for a write; reads of this scope wait for it.
   * A capture covers every write acknowledged before it was asked for, so a
   * successful one also covers earlier failed ones.
   */
  capture(token: Promise<ConsistencyToken>): Promise<void> {
    const number = ++this.#captures
    const settled = token.then(
      (value) => {
        this.#token = mergeTokens(this.#token, value)
        if (number > this.#failedCapture) this.#failedCapture = 0
        if (this.#uncertainAfter !== undefined && number > this.#uncertainAfter)
          this.#uncertainAfter = undefined
      },
      () => {
        // Without a token, a replica could miss this write: be safe until the next one.
        this.#failedCapture = Math.max(this.#failedCapture, number)
      },
    )
    const prior = this.#pending
    const all = prior ? Promise.all([prior, settled]).then(() => undefined) : settled
    this.#inherit(all)
    this.#parent?.capture(token)
    return all
  }

  #inherit(pending: Promise<void>): void {
    this.#pending = pending
    void pending.then(() => {
      if (this.#pending === pending) this.#pending = undefined
    })
  }

  /** A write whose outcome is unknown: until a later write is captured, read from the primary. */
  markUncertain(): void {
    this.#uncertainAfter = this.#captures
    this.#parent?.markUncertain()
  }
}
