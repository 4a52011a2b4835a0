import type { ClusterNode } from './cluster-node.js'
import * as replication from './replication-sql.js'

/**
 * The node controls that are plain SQL on the server, whatever runs it (a local
 * process or a container): the engines' nodes extend this and add what differs
 * (starting, stopping, freezing, re-pointing).
 */
export abstract class SqlControlledNode
  implements Pick<ClusterNode, 'isInRecovery' | 'timeline' | 'pauseReplay' | 'resumeReplay' | 'promote'>
{
  abstract readonly name: string
  abstract readonly port: number

  abstract query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]>

  async isInRecovery(): Promise<boolean> {
    const [row] = await this.query<{ recovery: boolean }>('select pg_is_in_recovery() as recovery')
    return row?.recovery === true
  }

  timeline(): Promise<number> {
    return replication.currentTimeline(this)
  }

  pauseReplay(): Promise<void> {
    return replication.pauseReplay(this)
  }

  async resumeReplay(): Promise<void> {
    await this.query('select pg_wal_replay_resume()')
  }

  promote(): Promise<void> {
    return replication.promote(this)
  }
}
