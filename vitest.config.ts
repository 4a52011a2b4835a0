import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const source = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

// Tests run against the TypeScript sources, with no build step in between.
const alias = {
  '@causeway/core': source('core'),
  '@causeway/kysely': source('kysely-plugin'),
  '@causeway/testing': source('testing'),
  '@causeway/cli': source('cli'),
  '@causeway/otel': source('otel'),
  '@causeway/etcd': source('etcd'),
  // @causeway/web has one entry per framework, and no root.
  ...Object.fromEntries(
    ['express', 'fastify', 'hono', 'next'].map((name) => [
      `@causeway/web/${name}`,
      fileURLToPath(new URL(`./packages/web/src/${name}/index.ts`, import.meta.url)),
    ]),
  ),
  '@causeway/prometheus': source('prometheus'),
}

// The lowest Kysely the plugin supports (its peer range's floor), installed as the
// devDependency alias `kysely-lowest`; the `kysely-lowest` project runs the plugin's
// Kysely-touching tests with every `import 'kysely'` resolved to it.
const lowestKysely = fileURLToPath(
  new URL('./packages/kysely-plugin/node_modules/kysely-lowest/dist/esm/index.js', import.meta.url),
)
const lowestAlias = [
  { find: /^kysely$/, replacement: lowestKysely },
  ...Object.entries(alias).map(([find, replacement]) => ({ find, replacement })),
]

// Kysely 0.29, installed as the devDependency alias `kysely-029`; the `kysely-029`
// project runs the plugin's Kysely-touching tests with `kysely` (and
// `kysely/migration`, new in 0.29) resolved to it. Kysely 0.29 requires Node 22, so
// the project is not part of `pnpm test` (Node 20 in CI): `pnpm test:kysely-029`
// runs it, and .ci/run runs that on Node 22.
const kysely029 = (entry: string) =>
  fileURLToPath(new URL(`./packages/kysely-plugin/node_modules/kysely-029/dist/${entry}`, import.meta.url))
const alias029 = [
  { find: /^kysely$/, replacement: kysely029('index.js') },
  { find: /^kysely\/migration$/, replacement: kysely029('migration/index.js') },
  ...Object.entries(alias).map(([find, replacement]) => ({ find, replacement })),
]

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.unit.test.ts'],
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          // test/ha needs Debian's Patroni and etcd, and runs in the `ha` project (pnpm test:ha).
          // packages/kysely-plugin/test/kysely-029 uses 0.29's API, in the `kysely-029` project.
          // *.containers.test.ts need a container engine, and run in `containers` (pnpm test:containers).
          exclude: [
            '**/*.unit.test.ts',
            '**/node_modules/**',
            'test/ha/**',
            'packages/kysely-plugin/test/kysely-029/**',
            '**/*.containers.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        resolve: { alias },
        test: {
          // Under the HA engines users run (Patroni with etcd): slow to start, so not in `pnpm test`.
          name: 'ha',
          include: ['test/ha/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        resolve: { alias },
        test: {
          // The cluster tests once more on the container engine, and one Causeway test over it.
          // Needs a Docker-compatible engine (packages/testing/scripts/setup-podman.sh); skipped without one.
          name: 'containers',
          include: ['packages/*/test/**/*.containers.test.ts', 'test/**/*.containers.test.ts'],
          // No Ryuk on podman (its image cannot be pulled): the harness sweeps by label instead.
          env: { TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? 'true' },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        resolve: { alias: lowestAlias },
        test: {
          name: 'kysely-lowest',
          include: [
            'packages/kysely-plugin/test/classify/classify-query.unit.test.ts',
            'packages/kysely-plugin/test/transaction-control.test.ts',
          ],
          env: { KYSELY_UNDER_TEST: 'lowest' },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        resolve: { alias: alias029 },
        test: {
          name: 'kysely-029',
          include: [
            'packages/kysely-plugin/test/**/*.test.ts',
            'test/cancel.test.ts',
            'test/transactions-and-hints.test.ts',
            'test/read-your-writes.test.ts',
          ],
          env: { KYSELY_UNDER_TEST: '0.29' },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
})
