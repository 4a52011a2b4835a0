import type { ClusterNode } from './cluster-node.js'
import { HarnessError } from './harness-error.js'
import { queryOnce } from './query-once.js'
import * as replication from './replication-sql.js'
import type { TestCluster } from './test-cluster.js'

/** The environment variables that name a cluster you bring. */
export const ENV_PRIMARY_URL = 'CAUSEWAY_TEST_PRIMARY_URL'
export const ENV_REPLICA_URLS = 'CAUSEWAY_TEST_REPLICA_URLS'

/**
 * A cluster you bring (for example one started by docker-compose elsewhere), named
 * by `CAUSEWAY_TEST_PRIMARY_URL` and a comma-separated `CAUSEWAY_TEST_REPLICA_URLS`.
 * Returns undefined when they are not set. SQL controls work (pause, resume,
 * promote); process controls throw, and tests that need them skip.
 */
export function externalClusterFromEnv(env: NodeJS.ProcessEnv = process.env): TestCluster | undefined {
  const primaryUrl = env[ENV_PRIMARY_URL]
  if (!primaryUrl) return undefined
  const replicaUrls = (env[ENV_REPLICA_URLS] ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean)
  const nodes = [primaryUrl, ...replicaUrls].map((url, i) => new ExternalNode(`pg${i + 1}`, url))
  return {
    primary: nodes[0]!,
    replicas: nodes.slice(1),
    nodes,
    canControlProcesses: false,
    addReplica: async () => unsupported('addReplica'),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  }
}

function unsupported(what: string): never {
  throw new HarnessError(`${what} is not available on a cluster you bring (${ENV_PRIMARY_URL} is set)`)
}

class ExternalNode implements ClusterNode {
  readonly name: string
  readonly url: string
  readonly port: number

  constructor(name: string, url: string) {
    this.name = name
    this.url = url
    this.port = Number(new URL(url).port || 5432)
  }

  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]> {
    return queryOnce<R>(this.url, sql, params, 5_000)
  }

  async isInRecovery(): Promise<boolean> {
    const [row] = await this.query<{ recovery: boolean }>('select pg_is_in_recovery() as recovery')
    return row?.recovery === true
  }

  timeline = () => replication.currentTimeline(this)
  pauseReplay = () => replication.pauseReplay(this)
  resumeReplay = async () => {
    await this.query('select pg_wal_replay_resume()')
  }
  promote = () => replication.promote(this)
  repoint = async (): Promise<void> => unsupported('repoint')
  stop = async (): Promise<void> => unsupported('stop')
  start = async (): Promise<void> => unsupported('start')
  kill = async (): Promise<void> => unsupported('kill')
  freeze = async (): Promise<void> => unsupported('freeze')
  thaw = async (): Promise<void> => unsupported('thaw')
}
