import type { Command } from '../args/command.js'
import { assertPrimaryReachable, openCluster } from '../cluster/open-cluster.js'
import { assertMirrorReachable } from '../cluster/probe-mirror.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import type { Terminal } from '../output/terminal.js'
import { toJson } from '../output/to-json.js'
import { mirrorCheckReport, renderMirrorCheck } from '../render/mirror-comparison.js'

/**
 * `causeway mirror-check`: compares a statement mirror with the primary, table by
 * table (row counts and an md5 of the ordered rows, by core's `compareMirror`), so
 * that a migration can be verified. Exits 0 when every table is equal, 3
 * (`EXIT.mirrorDiffers`) when one is not; 1 when either server cannot be reached.
 *
 * The mirror is given to the cluster only to be compared: the CLI makes no writes,
 * so nothing is replayed on it. Compare while the application's writes are paused
 * and the mirror has caught up: each table is read on each side in a statement of
 * its own, not in one snapshot.
 */
export async function mirrorCheckCommand(
  command: Extract<Command, { kind: 'mirror-check' }>,
  terminal: Terminal,
): Promise<ExitCode> {
  const cluster = await openCluster(command.targets, [command.mirror])
  try {
    assertPrimaryReachable(cluster)
    await assertMirrorReachable(command.mirror)
    const comparison = await cluster.compareMirror(
      command.mirror.name,
      command.tables === undefined ? {} : { tables: command.tables },
    )
    const report = mirrorCheckReport(cluster.status().primary ?? 'the primary', comparison)
    terminal.out(command.json ? toJson(report) : renderMirrorCheck(report))
    return report.equal ? EXIT.ok : EXIT.mirrorDiffers
  } finally {
    await cluster.close()
  }
}
