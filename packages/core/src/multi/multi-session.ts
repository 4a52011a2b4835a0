import type { ConsistencyToken } from '../consistency/token.js'
import { mergeTokens } from '../consistency/token.js'

/**
 * One multi-primary session: its home group, its routing key, and per group the
 * position of its last write there.
 */
export class MultiSession {
  readonly home: string
  readonly key: string | undefined
  readonly onPrimary: boolean
  readonly #tokens: Map<string, ConsistencyToken>

  /** `tokens` is kept, not copied: a session seen with `onPrimary` shares its positions. */
  constructor(
    home: string,
    key: string | undefined,
    tokens: Map<string, ConsistencyToken>,
    onPrimary = false,
  ) {
    this.home = home
    this.key = key
    this.onPrimary = onPrimary
    this.#tokens = tokens
  }

  /** The positions this session's reads must see, by group. */
  get tokens(): ReadonlyMap<string, ConsistencyToken> {
    return this.#tokens
  }

  /** Records a write's position in `group`. */
  wrote(group: string, token: ConsistencyToken): void {
    this.#tokens.set(group, mergeTokens(this.#tokens.get(group), token))
  }

  /** The same session (sharing its positions), with every statement on the primaries. */
  withPrimary(): MultiSession {
    return new MultiSession(this.home, this.key, this.#tokens, true)
  }
}
