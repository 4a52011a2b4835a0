import type { Kysely } from 'kysely'
import type { BenchDatabase } from '../schema.js'

/** What one operation did: a read names the server port that answered it. */
export type OperationOutcome = { readonly kind: 'read'; readonly port: number } | { readonly kind: 'write' }

/** One unit of a workload, run again and again by each concurrent worker. */
export type Operation = (db: Kysely<BenchDatabase>, random: () => number) => Promise<OperationOutcome>
