import { classifySql, loadSqlParser } from '@causeway/core'
import type { Command } from '../args/command.js'
import { assertPrimaryReachable, openCluster } from '../cluster/open-cluster.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import type { Terminal } from '../output/terminal.js'
import { toJson } from '../output/to-json.js'
import { answerRoute, renderRouteAnswer } from '../render/route-answer.js'

/**
 * `causeway route`: classifies the SQL with core's classifier (PostgreSQL's own
 * parser) and, given a cluster, names the nodes it would go to now. The SQL itself
 * is never printed back: it may hold a password (`create role … password '…'`).
 */
export async function routeCommand(
  command: Extract<Command, { kind: 'route' }>,
  terminal: Terminal,
): Promise<ExitCode> {
  await loadSqlParser()
  const classification = classifySql(command.sql)
  let status: Parameters<typeof answerRoute>[1]
  if (command.targets !== undefined) {
    const cluster = await openCluster(command.targets)
    try {
      assertPrimaryReachable(cluster)
      status = cluster.status()
    } finally {
      await cluster.close()
    }
  }
  const answer = answerRoute(classification, status)
  terminal.out(command.json ? toJson(answer) : renderRouteAnswer(answer))
  return EXIT.ok
}
