import type { Command } from '../args/command.js'
import { assertPrimaryReachable, openCluster } from '../cluster/open-cluster.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import type { Terminal } from '../output/terminal.js'
import { toJson } from '../output/to-json.js'
import { renderStatus } from '../render/status-table.js'

/** `causeway status`: one probe of every node, printed as a table or as JSON. */
export async function statusCommand(
  command: Extract<Command, { kind: 'status' }>,
  terminal: Terminal,
): Promise<ExitCode> {
  const cluster = await openCluster(command.targets)
  try {
    const status = cluster.status()
    // Printed first even when the primary is down: the replicas' rows say what is left.
    terminal.out(command.json ? toJson(status) : renderStatus(status))
    assertPrimaryReachable(cluster)
    return EXIT.ok
  } finally {
    await cluster.close()
  }
}
