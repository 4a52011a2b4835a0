import type { Classification } from '../intent.js'
import { LruCache } from './lru-cache.js'
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
 * Wraps a classifier that needs the loaded parser in a bounded LRU cache keyed by
 * text, so that a repeated text costs a map lookup. Before the parser has loaded,
 * every text is `unknown` and nothing is cached: the same text must be judged
 * properly once the parser is ready.
 */
export function cachedClassifier(
  classify: (text: string, parser: SqlParser) => Classification,
): (text: string) => Classification {
  const cache = new LruCache<string, Classification>(CACHE_ENTRIES)
  return (text) => {
    const cached = cache.get(text)
    if (cached !== undefined) return cached
    const parser = loadedSqlParser()
    if (parser === undefined) return NOT_LOADED
    const result = classify(text, parser)
    if (text.length <= MAX_CACHED_LENGTH) cache.set(text, result)
    return result
  }
}
