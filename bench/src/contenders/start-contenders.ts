import type { ClusterAddresses } from '../cluster-urls.js'
import type { PgpoolAvailability } from '../pgpool/install-pgpool.js'
import { bareCapture } from './bare-capture.js'
import { causeway } from './causeway.js'
import type { CausewayModule } from './causeway-module.js'
import type { Contender, ContenderKey } from './contender.js'
import { kyselyReplication } from './kysely-replication.js'
import { pgpoolContender } from './pgpool.js'
import { plainKysely } from './plain-kysely.js'
import { railsPolicy } from './rails-policy.js'

/** The contenders that started, and why the others did not. */
export interface Contenders {
  readonly started: Map<ContenderKey, Contender>
  readonly skipped: Map<ContenderKey, string>
  /** Closes every started contender (pools, pgpool), reporting failures by contender. */
  close(): Promise<void>
}

/**
 * Starts every contender the workloads need. pgpool-II (C) is the only one allowed
 * to fail: it is skipped with its reason. Each contender runs one query first, so
 * that a broken one fails here rather than inside a measurement.
 */
export async function startContenders(
  addresses: ClusterAddresses,
  needed: ReadonlySet<ContenderKey>,
  pgpool: PgpoolAvailability,
  causewayModule: CausewayModule | undefined,
  log: (line: string) => void,
): Promise<Contenders> {
  const started = new Map<ContenderKey, Contender>()
  const skipped = new Map<ContenderKey, string>()
  const contenders: Contenders = {
    started,
    skipped,
    close: async () => {
      const all = [...started.values()]
      started.clear()
      const results = await Promise.allSettled(all.map((c) => c.close()))
      const failed = results.flatMap((r, i) =>
        r.status === 'rejected' ? [`${all[i]!.key}: ${r.reason}`] : [],
      )
      if (failed.length > 0)
        throw new AggregateError(failed, `closing contenders failed: ${failed.join('; ')}`)
    },
  }
  try {
    const add = async (contender: Contender) => {
      started.set(contender.key, contender)
      await contender.db.selectFrom('bench_items').select('id').where('id', '=', 1).executeTakeFirstOrThrow()
    }
    if (needed.has('A')) await add(plainKysely(addresses.primary))
    if (needed.has('B')) await add(kyselyReplication(addresses))
    if (needed.has('C')) {
      if (!pgpool.ok) skipped.set('C', pgpool.reason)
      else {
        log('starting pgpool-II')
        try {
          await add(await pgpoolContender(addresses, pgpool))
        } catch (error) {
          const failed = started.get('C')
          started.delete('C')
          await failed?.close().catch(() => {})
          skipped.set('C', `pgpool could not run: ${(error as Error).message}`)
        }
      }
    }
    if (needed.has('Ac')) await add(bareCapture(addresses.primary))
    if (needed.has('R')) await add(railsPolicy(addresses))
    if (causewayModule) {
      for (const variant of ['D', 'D0', 'Ds', 'Dm', 'Da', 'Dp', 'Dd'] as const) {
        if (needed.has(variant)) await add(causeway(causewayModule, addresses, variant))
      }
    }
    return contenders
  } catch (error) {
    await contenders.close().catch(() => {})
    throw error
  }
}
