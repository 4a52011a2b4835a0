import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { MachineFacts } from '../machine.js'
import type { Plan } from '../run/bench-context.js'
import type { WorkloadResult } from '../run/workload-result.js'

/** The shape of `bench/results/latest.json`. */
export interface ResultsFile {
  readonly machine: MachineFacts
  readonly plan: Plan & { readonly quick: boolean }
  readonly contenders: Readonly<Record<string, string>>
  readonly replicaShareMethod: string
  /** How Causeway's code was compiled for the run. */
  readonly causewayBuild: string
  readonly runtimeSeconds: number
  readonly workloads: Readonly<Record<string, WorkloadResult>>
}

const RESULTS_URL = new URL('../../results/latest.json', import.meta.url)

/** Writes the results next to the bench, and returns the path. */
export async function writeResults(results: ResultsFile): Promise<string> {
  const path = fileURLToPath(RESULTS_URL)
  await mkdir(new URL('.', RESULTS_URL), { recursive: true })
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`)
  return path
}
