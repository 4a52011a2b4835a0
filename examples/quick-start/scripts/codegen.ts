// Regenerates src/db/types.generated.ts: starts an embedded cluster, applies
// src/db/schema.sql, and runs kysely-codegen against it.
//   pnpm --filter @causeway/example-quick-start codegen
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startCluster } from '@causeway/testing'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const cluster = await startCluster({ replicas: 0 })
try {
  await cluster.primary.query(readFileSync(here('../src/db/schema.sql'), 'utf8'))
  execFileSync(
    'kysely-codegen',
    ['--dialect', 'postgres', '--out-file', here('../src/db/types.generated.ts'), '--camel-case=false'],
    { env: { ...process.env, DATABASE_URL: cluster.primary.url }, stdio: 'inherit' },
  )
} finally {
  await cluster.close()
}
