import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from '../args/command.js'
import { assertPrimaryReachable, openCluster } from '../cluster/open-cluster.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import type { Terminal } from '../output/terminal.js'
import { LagHistory } from '../render/lag-history.js'
import { HIDE_CURSOR, redraw, rowCount, SHOW_CURSOR } from '../render/redraw.js'
import { renderStatus } from '../render/status-table.js'

/** Samples of lag kept per replica: a minute at the default interval. */
export const LAG_SAMPLES = 60

/**
 * `causeway watch`: probes every node each interval and redraws the status table
 * in place, with each replica's lag in bytes over the last {@link LAG_SAMPLES}
 * samples. Off a terminal each frame follows the last. Runs until `stop` aborts
 * (SIGINT, SIGTERM), then closes the cluster and returns 0.
 *
 * The primary must answer at start (else exit 1, as `status`); once watching, a
 * primary going down is what the view is for, so it keeps drawing.
 */
export async function watchCommand(
  command: Extract<Command, { kind: 'watch' }>,
  terminal: Terminal,
  stop: AbortSignal,
): Promise<ExitCode> {
  const cluster = await openCluster(command.targets)
  try {
    assertPrimaryReachable(cluster)
    const history = new LagHistory(LAG_SAMPLES)
    let previousRows = 0
    if (terminal.isTTY) terminal.out(HIDE_CURSOR)
    try {
      while (!stop.aborted) {
        const status = await cluster.checkHealth()
        history.record(status)
        const frame =
          `causeway watch · ${new Date().toLocaleTimeString()} · every ${command.intervalMillis} ms · Ctrl-C to stop\n` +
          renderStatus(status, {
            lagHeading: `LAG BYTES, LAST ${LAG_SAMPLES}`,
            lagOverTime: (node) => history.sparkline(node),
          })
        if (terminal.isTTY) {
          terminal.out(redraw(previousRows, frame))
          previousRows = rowCount(frame, terminal.columns)
        } else {
          terminal.out(`${frame}\n`)
        }
        await sleep(command.intervalMillis, undefined, { signal: stop }).catch(() => {})
      }
    } finally {
      if (terminal.isTTY) terminal.out(SHOW_CURSOR)
    }
    return EXIT.ok
  } finally {
    await cluster.close()
  }
}
