// Regenerates src/db.d.ts from the migrations: starts an embedded primary, migrates
// it through cluster.onPrimary (as the app does at start), and runs kysely-codegen
// against it. The test checks that the committed file is what this produces.
//   pnpm --filter @causeway/example-http-app codegen
import { createCluster } from '@causeway/core'
import { CausewayDialect } from '@causeway/kysely'
import { startCluster } from '@causeway/testing'
import { Kysely } from 'kysely'
import { DB_TYPES_FILE, runCodegen } from '../src/codegen.js'
import { migrateToLatest } from '../src/migrate.js'

const embedded = await startCluster({ replicas: 0 })
const cluster = createCluster({
  primary: { connectionString: embedded.primary.url, name: embedded.primary.name },
})
const db = new Kysely<unknown>({ dialect: new CausewayDialect({ cluster }) })
try {
  for (const { migrationName, status } of await migrateToLatest(cluster, db)) {
    console.log(`${migrationName}: ${status}`)
  }
  process.stdout.write(runCodegen(embedded.primary.url))
  console.log(`wrote ${DB_TYPES_FILE}`)
} finally {
  await db.destroy()
  await cluster.close()
  await embedded.close()
}
