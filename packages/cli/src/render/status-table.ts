import type { ClusterStatus, NodeStatus } from '@causeway/core'
import { type Column, renderTable } from './table.js'

/** Extra per-node text for {@link renderStatus}: `causeway watch` adds lag over time. */
export interface StatusExtras {
  readonly lagHeading: string
  readonly lagOverTime: (node: string) => string
}

const COLUMNS: readonly Column[] = [
  { heading: 'NODE' },
  { heading: 'ROLE' },
  { heading: 'STATE' },
  { heading: 'TL', align: 'right' },
  { heading: 'LSN' },
  { heading: 'UPSTREAM' },
  { heading: 'LAG BYTES', align: 'right' },
  { heading: 'LAG MS', align: 'right' },
]

/**
 * The status as text: a line about the cluster, then one row per node (the table
 * the quick-start demo prints, with timelines and upstreams), then a line of
 * notes for nodes that are fenced, failing, lagging, paused or draining.
 *
 * @example
 * renderStatus(cluster.status())
 * // Primary pg1, timeline 1, epoch 0 (failover: follow)
 * // NODE  ROLE     STATE    TL  LSN        UPSTREAM  LAG BYTES  LAG MS  NOTE
 * // pg1   primary  healthy   1  0/3000148  -                 -       -
 * // pg2   replica  healthy   1  0/3000148  pg1               0       0
 */
export function renderStatus(status: ClusterStatus, extras?: StatusExtras): string {
  const columns = [...COLUMNS, ...(extras ? [{ heading: extras.lagHeading }] : []), { heading: 'NOTE' }]
  const rows = status.nodes.map((node) => [
    node.name,
    node.role,
    node.state,
    orDash(node.timeline),
    orDash(node.lsn),
    orDash(node.upstream),
    orDash(node.lagBytes),
    orDash(node.lagMillis === undefined ? undefined : Math.round(node.lagMillis)),
    ...(extras ? [extras.lagOverTime(node.name)] : []),
    note(node),
  ])
  return `${[headline(status), ...renderTable(columns, rows)].join('\n')}\n`
}

function headline(status: ClusterStatus): string {
  const primary = status.primary === undefined ? 'none (no writable node is known)' : status.primary
  return `Primary ${primary}, timeline ${status.timeline}, epoch ${status.epoch} (failover: ${status.failover})`
}

/** Why a node is not simply serving: its state's reason first, then its flags. */
function note(node: NodeStatus): string {
  const flags = [
    node.lagging ? 'lagging past maxLag' : undefined,
    node.replayPaused ? 'replay paused' : undefined,
    node.draining ? 'draining' : undefined,
    node.reason,
  ].filter((flag) => flag !== undefined && flag !== '')
  // A reason may be a multi-line server message; the table keeps one line per node.
  return flags.join('; ').replace(/\s+/g, ' ')
}

function orDash(value: string | number | undefined): string {
  return value === undefined ? '-' : String(value)
}
