import type { ProbeResult } from '../../src/topology/db-node.js'

/**
 * What a probe saw of a server of system 7: a replica on timeline 1 at LSN 100,
 * with `fields` changed. Feed it to a detached node with `node.observe(...)`.
 */
export function probeResult(fields: Partial<ProbeResult> = {}): ProbeResult {
  return {
    role: 'replica',
    systemId: '7',
    lifetime: 'start-1',
    lsn: 100n,
    timeline: 1,
    upstream: undefined,
    replayPaused: false,
    walLayout: { pageBytes: 8192, segmentBytes: 16 << 20 },
    ...fields,
  }
}
