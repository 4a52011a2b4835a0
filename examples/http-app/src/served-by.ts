import { sql } from 'kysely'

/** Which server answered a read, as the server itself says: its name here, and its role at that moment. */
export interface ServedBy {
  readonly node: string
  readonly role: 'primary' | 'replica'
}

/** What {@link servedByColumns} adds to a row. */
export interface ServerColumns {
  readonly server_port: number
  readonly in_recovery: boolean
}

/**
 * Two columns to select beside a read's data, so that each row says which server
 * produced it. Asked in the same statement, they cannot be answered by another
 * server than the data was; `pg_is_in_recovery()` is the role then (it follows a failover).
 */
export function servedByColumns() {
  return [
    sql<number>`inet_server_port()`.as('server_port'),
    sql<boolean>`pg_is_in_recovery()`.as('in_recovery'),
  ] as const
}

/**
 * Names servers by the port they listen on. Enough when each node has its own
 * port, as in the embedded cluster; servers sharing a port on several hosts would
 * need `inet_server_addr()` too.
 */
export function serverNames(nodes: Iterable<{ readonly name: string; readonly port: number }>) {
  const names = new Map<number, string>()
  for (const node of nodes) names.set(node.port, node.name)
  return (row: ServerColumns): ServedBy => ({
    node: names.get(row.server_port) ?? `port ${row.server_port}`,
    role: row.in_recovery ? 'replica' : 'primary',
  })
}
