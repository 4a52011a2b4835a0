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

/** Takes a token on one node: any sample taken after a write was acknowledged covers it. */
export interface TokenSource {
  sample(): Promise<ConsistencyToken>
}

/**
 * Where the token of a run of work lives: a `cluster.session()`, or the process
 * scope outside any session. A write's token is captured after it is acknowledged,
 * never on its own path: at once in the background (`eager`), or when the scope
 * next needs it, to read or to hand it over (`lazy`). Reads wait for the capture.
 */
export class ConsistencyScope {
  #token: ConsistencyToken | undefined
  #tokenAt = 0
  #pending: Promise<void> | undefined
  /** Nodes written to since their last capture, with lazy capture. */
  #deferred: Set<TokenSource> | undefined
  /** Captures are numbered in the order they were asked for. */
  #captures = 0
  /** The newest capture that failed; a later successful one covers its write. */
  #failedCapture = 0
  /** Set by a write of unknown outcome: the capture count then. A later capture clears it. */
  #uncertainAfter: number | undefined
  readonly #parent: ConsistencyScope | undefined
  #recovery: Recovery | undefined
  #recovering = false
  #recoveredAt = 0
  readonly sync: ResolvedSync | undefined
  readonly syncOff: boolean

  constructor(options: ScopeOptions = {}) {
    const parent = options.parent
    this.#parent = parent
    if (parent && options.inherit) {
      this.#token = parent.token
      this.#tokenAt = parent.tokenAt
      if (parent.pending) this.#inherit(parent.pending)
      if (parent.#deferred) this.#deferred = new Set(parent.#deferred)
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

  /**
   * When the token last moved (`performance.now()`), 0 for one handed over from
   * another process: a replica position read after this that is still behind the
   * token means that replica has not replayed it yet.
   */
  get tokenAt(): number {
    return this.#tokenAt
  }

  /** Every capture in flight, settled together; undefined when none. */
  get pending(): Promise<void> | undefined {
    return this.#pending
  }

  /** Whether writes wait to be captured (lazy capture): a read must call {@link settle} first. */
  get deferred(): boolean {
    return this.#deferred !== undefined
  }

  /** Records a write on `source`'s node, to capture when the scope next needs its token. */
  captureLater(source: TokenSource): void {
    this.#deferred ??= new Set()
    this.#deferred.add(source)
    this.#parent?.captureLater(source)
  }

  /** Starts the captures deferred so far; resolves when every capture has settled. */
  settle(): Promise<void> | undefined {
    const deferred = this.#deferred
    if (deferred) {
      this.#deferred = undefined
      for (const source of deferred) this.capture(source.sample(), source)
    }
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
    this.#setToken(token)
    this.#parent?.advance(token)
  }

  /**
   * Folds in a token being captured for a write; reads of this scope wait for it.
   * A capture covers every write acknowledged before it was asked for, so a
   * successful one also covers earlier failed ones.
   */
  capture(token: Promise<ConsistencyToken>, source?: TokenSource): Promise<void> {
    const number = ++this.#captures
    const settled = token.then(
      (value) => {
        this.#setToken(value)
        if (number > this.#failedCapture) this.#failedCapture = 0
        if (this.#uncertainAfter !== undefined && number > this.#uncertainAfter)
          this.#uncertainAfter = undefined
      },
      () => {
        // Without a token, a replica could miss this write: be safe until the next one
        // (or until recover() takes one: any later sample covers an acknowledged write).
        this.#failedCapture = Math.max(this.#failedCapture, number)
      },
    )
    const prior = this.#pending
    const all = prior ? Promise.all([prior, settled]).then(() => undefined) : settled
    this.#inherit(all)
    // A capture started after the write also covers it for the parent.
    const parent = this.#parent
    if (parent) {
      if (source) parent.#covered(source)
      parent.capture(token, source)
    }
    return all
  }

  #setToken(token: ConsistencyToken): void {
    const merged = mergeTokens(this.#token, token)
    if (merged !== this.#token) {
      this.#token = merged
      this.#tokenAt = performance.now()
    }
  }

  #covered(source: TokenSource): void {
    this.#deferred?.delete(source)
    if (this.#deferred?.size === 0) this.#deferred = undefined
  }

  #inherit(pending: Promise<void>): void {
    this.#pending = pending
    void pending.then(() => {
      if (this.#pending === pending) this.#pending = undefined
    })
  }

  /**
   * A write whose outcome is unknown: until a later capture covers it, read from
   * the primary. `recovery` finds such a capture without a later write: it
   * resolves to a token taken once the write can no longer commit (its session is
   * gone), or to undefined while it still could.
   */
  markUncertain(recovery?: Recovery): void {
    this.#uncertainAfter = this.#captures
    if (recovery) this.#recovery = recovery
    this.#parent?.markUncertain(recovery)
  }

  /**
   * While {@link primaryOnly}, tries (in the background, at most once per
   * `everyMillis`) to take a token that covers the uncertain or uncaptured write,
   * so that one failed statement does not keep the scope on the primary until its
   * next write: the process scope of a read-only service has none.
   */
  recover(everyMillis: number, fallback: Recovery): void {
    // An acknowledged write whose capture failed is covered by any later sample of
    // the primary of the moment (`fallback`): its own node may be a standby by now.
    const recovery = this.#uncertainAfter !== undefined ? (this.#recovery ?? fallback) : fallback
    if (this.#recovering || Date.now() - this.#recoveredAt < everyMillis) return
    this.#recovering = true
    this.#recoveredAt = Date.now()
    const number = this.#captures
    void recovery()
      .then((token) => {
        // Any capture asked for after the uncertain write covers it; so does this one.
        if (token && number === this.#captures) void this.capture(Promise.resolve(token))
      })
      .catch(() => {})
      .finally(() => {
        this.#recovering = false
      })
  }
}

/** Takes a token that covers a write of unknown outcome, or undefined while it might still commit. */
export type Recovery = () => Promise<ConsistencyToken | undefined>
