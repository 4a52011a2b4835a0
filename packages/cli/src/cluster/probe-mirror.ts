import pg from 'pg'
import type { MirrorTarget } from '../args/command.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'

/** As the primary's first probe (see `openCluster`): a busy server gets 5 s. */
const CONNECT_TIMEOUT_MILLIS = 5_000

/**
 * Throws (exit code 1) unless the mirror accepts a connection and answers. Without
 * this an unreachable mirror would only show as an error on every table, which
 * reads as "differs" (exit 3), and a primary with no tables would pass unchecked.
 * One connection of its own, closed at once: core's mirror pool has no probe.
 */
export async function assertMirrorReachable(mirror: MirrorTarget): Promise<void> {
  const client = new pg.Client({
    connectionString: mirror.url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MILLIS,
    application_name: 'causeway mirror-check',
  })
  // A connection dropped after the answer must not crash the process.
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('select 1')
  } catch (error) {
    // The message goes through the Terminal's redactor like every other line.
    const why = error instanceof Error ? error.message : String(error)
    throw new CliError(EXIT.failure, `mirror ${mirror.name} is unreachable: ${why}`, { cause: error })
  } finally {
    await client.end().catch(() => {})
  }
}
