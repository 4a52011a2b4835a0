import { AsyncLocalStorage } from 'node:async_hooks'
import type { SyncOptions } from '../config/cluster-config.js'
import type { ResolvedSync } from '../config/config-schema.js'
import { ConsistencyScope } from './consistency-scope.js'
import type { ConsistencyToken } from './token.js'

/** Where a statement runs from: its consistency scope, and whether everything goes to the primary. */
export interface ExecutionContext {
  readonly scope: ConsistencyScope | undefined
  readonly onPrimary: boolean
}

/** Options of `cluster.session()`. */
export interface SessionOptions {
  /** Continue from a token another process handed over (`cluster.token()` there). */
  readonly token?: string
  /** Synchronous mirroring for the writes of this session, overriding the config. */
  readonly sync?: SyncOptions | false
}

/** How a session starts, once its options are parsed. */
export interface SessionStart {
  /** A token handed over from another process. */
  readonly token?: ConsistencyToken
  /** Mirroring for this session's writes; `false` turns the cluster's off. */
  readonly sync?: ResolvedSync | false
}

/**
 * The execution context of the code running now, carried across `await` by an
 * `AsyncLocalStorage`, and the rules for nesting sessions:
 *
 * - outside any session, statements share the process scope (`consistency.scope:
 *   'process'`) or none (`'session'`);
 * - a session in a session shares its past both ways;
 * - a top-level session starts afresh and passes its writes on to the process
 *   scope (or every request would start from every other request's writes).
 */
export class ScopeContext {
  readonly #storage = new AsyncLocalStorage<ExecutionContext>()
  readonly #processScope: ConsistencyScope | undefined
  readonly #default: ExecutionContext

  /** `processScope`: whether code outside sessions shares one scope (`consistency.scope: 'process'`). */
  constructor(processScope: boolean) {
    this.#processScope = processScope ? new ConsistencyScope() : undefined
    this.#default = { scope: this.#processScope, onPrimary: false }
  }

  /** The context of the code running now. Allocates nothing. */
  current(): ExecutionContext {
    return this.#storage.getStore() ?? this.#default
  }

  /** Runs `fn` in a new session scope, nested by the rules above. */
  session<T>(fn: () => T, start: SessionStart = {}): T {
    const outer = this.#storage.getStore()
    const parent = outer?.scope ?? this.#processScope
    const sync = start.sync
    const scope = new ConsistencyScope({
      ...(start.token ? { token: start.token } : {}),
      ...(sync ? { sync } : {}),
      syncOff: sync === false,
      ...(parent
        ? { parent, inherit: outer?.scope !== undefined && outer.scope !== this.#processScope }
        : {}),
    })
    return this.#storage.run({ scope, onPrimary: outer?.onPrimary ?? false }, fn)
  }

  /** Runs `fn` with every statement on the primary, in the current scope. */
  onPrimary<T>(fn: () => T): T {
    return this.#storage.run({ scope: this.current().scope, onPrimary: true }, fn)
  }
}
