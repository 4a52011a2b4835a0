import type * as LibPgQuery from 'libpg-query'

/** The synchronous part of libpg-query that the classifiers use once the WASM module is ready. */
export interface SqlParser {
  readonly parseSync: typeof LibPgQuery.parseSync
  readonly scanSync: typeof LibPgQuery.scanSync
}

let parser: SqlParser | undefined
let loading: Promise<void> | undefined

/**
 * Loads the real PostgreSQL parser (libpg-query, compiled to WASM) so that raw SQL
 * can be classified synchronously on the query path. Call it once at startup; it is
 * memoised, so concurrent and later calls share one load. If loading fails the
 * promise rejects and the next call tries again.
 *
 * libpg-query starts compiling its WASM as soon as it is imported, so it is imported
 * here rather than at the top of the file: importing @causeway/core costs nothing
 * until a parser is actually wanted.
 *
 * @example
 * await loadSqlParser()
 * classifySql('select 1') // { intent: 'read', reason: 'plain read' }
 */
export function loadSqlParser(): Promise<void> {
  if (parser !== undefined) return Promise.resolve()
  loading ??= load().catch((error: unknown) => {
    loading = undefined
    throw new Error(`Could not load the PostgreSQL SQL parser (libpg-query WASM): ${messageOf(error)}`, {
      cause: error,
    })
  })
  return loading
}

/**
 * Whether {@link loadSqlParser} has finished. Until it has, raw SQL classifies as
 * `unknown` and so runs on the primary.
 *
 * @example
 * isSqlParserLoaded() // false
 * await loadSqlParser()
 * isSqlParserLoaded() // true
 */
export function isSqlParserLoaded(): boolean {
  return parser !== undefined
}

/**
 * The loaded parser, or `undefined` before {@link loadSqlParser} has finished.
 * Internal to the classifiers; not re-exported.
 *
 * @example
 * const parser = loadedSqlParser()
 * if (parser) parser.parseSync('select 1')
 */
export function loadedSqlParser(): SqlParser | undefined {
  return parser
}

async function load(): Promise<void> {
  const module = await import('libpg-query')
  await module.loadModule()
  parser = { parseSync: module.parseSync, scanSync: module.scanSync }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
