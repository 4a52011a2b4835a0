import type { Classification } from '../model/intent.js'
import { LruCache } from '../util/lru-cache.js'
import { loadedSqlParser, type SqlParser } from './sql-parser.js'

/** How many distinct texts keep their classification, per classifier. */
const CACHE_ENTRIES = 2_000
/**
 * Longer texts are classified but not cached: 2,000 multi-megabyte bulk statements
 * would pin gigabytes, and a text that long costs far more to run than to parse.
 */
const MAX_CACHED_LENGTH = 10_000

/** What every text is until the parser has loaded: routed like a write. */
export const NOT_LOADED: Classification = Object.freeze({
  intent: 'unknown',
  reason: 'sql parser not loaded',
})

/** A plain read, shared rather than allocated per text. */
export const PLAIN_READ: Classification = Object.freeze({ intent: 'read', reason: 'plain read' })

/**
 * Classifications by SQL text, in a bounded LRU cache, so that a repeated text
 * costs a map lookup. `NOT_LOADED` is never cached (the same text must be judged
 * properly once the parser is ready), nor is a text longer than 10,000
 * characters. The Kysely dialect keeps one for compiled queries.
 *
 * @example
 * const cache = new ClassificationCache()
 * const classification = cache.get(sql) ?? cache.set(sql, classify(sql))
 */
export class ClassificationCache {
  readonly #cache: LruCache<string, Classification>

  constructor(maxEntries = CACHE_ENTRIES) {
    this.#cache = new LruCache(maxEntries)
  }

  /** The classification cached for `text`, if any. */
  get(text: string): Classification | undefined {
    return this.#cache.get(text)
  }

  /** Caches `classification` for `text` (unless it must not be), and returns it. */
  set(text: string, classification: Classification): Classification {
    if (classification !== NOT_LOADED && text.length <= MAX_CACHED_LENGTH)
      this.#cache.set(text, classification)
    return classification
  }
}

/**
 * Wraps a classifier that needs the loaded parser in a {@link ClassificationCache}.
 * Before the parser has loaded, every text is `NOT_LOADED` (routed like a write).
 */
export function cachedClassifier(
  classify: (text: string, parser: SqlParser) => Classification,
): (text: string) => Classification {
  const cache = new ClassificationCache()
  return (text) => {
    const cached = cache.get(text)
    if (cached !== undefined) return cached
    const parser = loadedSqlParser()
    if (parser === undefined) return NOT_LOADED
    return cache.set(text, classify(text, parser))
  }
}
