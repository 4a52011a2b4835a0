import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

/** `@causeway/kysely`, as the contenders load it. */
export type CausewayModule = typeof import('@causeway/kysely')

/** Where the module came from, for the results file. */
export interface LoadedCauseway {
  readonly module: CausewayModule
  readonly build: string
}

const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))
const BUNDLE = new URL('../../.cache/causeway-kysely.mjs', import.meta.url)

/**
 * Loads `@causeway/kysely` compiled the way users run it. The bench itself runs
 * under tsx, which compiles with esbuild's `keepNames`: every function expression
 * created at run time then also pays a `__name()` call (an
 * `Object.defineProperty`). Kysely, kysely-replication and pg are plain JavaScript
 * from npm and pay nothing of the kind, so timing Causeway through tsx would charge
 * it a cost that its published build (tsc output) does not have: measured here at
 * 5–10% of a point read at concurrency 1.
 *
 * So by default the sources are bundled once with esbuild, without `keepNames`,
 * into `bench/.cache/`. Kysely and pg stay external (one shared instance);
 * `libpg-query` stays external too, by absolute path, because it loads its WASM
 * file from beside itself. `source: true` loads the tsx-compiled sources instead.
 */
export async function loadCauseway(options: { source?: boolean } = {}): Promise<LoadedCauseway> {
  if (options.source) {
    return { module: await import('@causeway/kysely'), build: 'TypeScript sources through tsx (keepNames)' }
  }
  await build({
    stdin: { contents: "export * from '@causeway/kysely'", resolveDir: BENCH_DIR, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@causeway/source'],
    external: ['kysely', 'pg', 'pg-cursor'],
    plugins: [
      {
        name: 'external-by-path',
        setup(esbuild) {
          esbuild.onResolve({ filter: /^libpg-query$/ }, (args) => ({
            path: createRequire(`${args.resolveDir}/`).resolve(args.path),
            external: true,
          }))
        },
      },
    ],
    outfile: fileURLToPath(BUNDLE),
    logLevel: 'error',
  })
  const module = (await import(pathToFileURL(fileURLToPath(BUNDLE)).href)) as CausewayModule
  return { module, build: 'esbuild bundle of the TypeScript sources, without keepNames (as tsc output runs)' }
}
