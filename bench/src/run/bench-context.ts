import type { TestCluster } from '@causeway/testing'
import type { ClusterAddresses } from '../cluster-urls.js'
import type { CausewayModule } from '../contenders/causeway-module.js'
import type { Contender, ContenderKey } from '../contenders/contender.js'

/** How long each workload runs. */
export interface Plan {
  /** Rounds over the contenders; each round gives every contender one turn. */
  readonly repeats: number
  /** Length of one turn. */
  readonly phaseMillis: number
  /** One untimed turn per contender before the first round: pools fill, the JIT warms. */
  readonly warmupMillis: number
}

/** What every workload is given. */
export interface BenchContext {
  readonly cluster: TestCluster
  readonly addresses: ClusterAddresses
  readonly contenders: ReadonlyMap<ContenderKey, Contender>
  /** Contenders that could not run, with the reason. */
  readonly skipped: ReadonlyMap<ContenderKey, string>
  readonly plan: Plan
  /** `--quick`: a workload may shorten its own extras too. */
  readonly quick: boolean
  readonly log: (line: string) => void
  /** `@causeway/kysely` as the D contenders load it; undefined when no workload needs it. */
  readonly causeway: CausewayModule | undefined
  /**
   * Registers something a workload started itself (a failover trial's cluster), so
   * that an interrupted run closes it too. Returns the function that unregisters it.
   */
  readonly adopt: (close: () => Promise<void>) => () => void
}
