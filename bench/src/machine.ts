import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import type { TestCluster } from '@causeway/testing'

/** What the numbers were measured on. */
export interface MachineFacts {
  readonly date: string
  readonly cores: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly kernel: string
  readonly node: string
  readonly postgres: string
  readonly pgpool: string
  readonly packages: Readonly<Record<string, string>>
  readonly network: string
  /**
   * 1-minute load average when the run started. Above the core count, something
   * else was busy too (on a shared machine, another job): expect wider spreads.
   */
  readonly loadAverageAtStart: number
}

/** Gathers the machine facts; `pgpool` is its version or why it was skipped. */
export async function machineFacts(cluster: TestCluster, pgpool: string): Promise<MachineFacts> {
  const [row] = await cluster.primary.query<{ server_version: string }>('show server_version')
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    postgres: row?.server_version ?? 'unknown',
    pgpool,
    packages: Object.fromEntries(
      ['kysely', 'kysely-replication', 'pg'].map((name) => [name, packageVersion(name)]),
    ),
    network: 'loopback (client, pgpool and every PostgreSQL server on one machine)',
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  }
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
