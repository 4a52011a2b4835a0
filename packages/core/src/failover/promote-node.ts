import { CausewayError } from '../errors/causeway-error.js'
import { probeNode } from '../health/node-probe.js'
import type { DbNode } from '../topology/db-node.js'
import type { Topology } from '../topology/topology.js'
import { withHostPort } from './conninfo.js'

/**
 * Promotes `target` with `pg_promote()` (about 100 ms here), makes it the primary
 * for routing, then re-points every other reachable replica to it: `ALTER SYSTEM
 * SET primary_conninfo` with the new host and port, the same user and options, plus
 * `pg_reload_conf()`, which restarts the WAL receiver without restarting the server
 * (about 20 ms). A replication slot of the same name is created on the new primary
 * first, or the re-pointed standby could not stream.
 *
 * Needs a superuser (or a role granted `pg_promote` and `ALTER SYSTEM`). Replicas
 * must be able to reach the new primary at the address Causeway uses for it.
 */
export async function promoteNode(
  target: DbNode,
  nodes: readonly DbNode[],
  topology: Topology,
): Promise<{ repointed: string[]; failed: string[] }> {
  // pg_promote waits up to 30 s; so does the client, beyond the probe timeout.
  const [row] = await target.side.run<{ promoted: boolean }>(
    'select pg_promote(true, 30) as promoted',
    [],
    35_000,
  )
  if (!row?.promoted) {
    throw new CausewayError('FAILOVER_FAILED', `pg_promote() on ${target.name} did not finish within 30 s`, {
      node: target.name,
    })
  }
  // Seen at once (not at the next scheduled probe): routing follows before this returns.
  target.observe(await probeNode(target))
  topology.evaluate()
  topology.setPrimary(target)
  const { host, port } = target.endpoint
  const repointed: string[] = []
  const failed: string[] = []
  await Promise.all(
    nodes
      .filter(
        (node) =>
          node !== target && node.role === 'replica' && node.verified && node.breaker.state !== 'down',
      )
      .map(async (node) => {
        try {
          await repoint(node, target, host, port)
          repointed.push(node.name)
        } catch (error) {
          failed.push(`${node.name}: ${(error as Error).message}`)
        }
      }),
  )
  return { repointed, failed }
}

async function repoint(node: DbNode, target: DbNode, host: string, port: number): Promise<void> {
  const [settings] = await node.side.run<{ conninfo: string; slot: string }>(
    `select current_setting('primary_conninfo') as conninfo, current_setting('primary_slot_name') as slot`,
  )
  if (!settings?.conninfo) throw new Error('it has no primary_conninfo to re-point')
  if (settings.slot) {
    await target.side.run(
      `select pg_create_physical_replication_slot($1, true)
       where not exists (select 1 from pg_replication_slots where slot_name = $1)`,
      [settings.slot],
    )
  }
  const conninfo = withHostPort(settings.conninfo, host, port)
  await node.side.run(`alter system set primary_conninfo = '${conninfo.replaceAll("'", "''")}'`)
  await node.side.run('select pg_reload_conf()')
}
