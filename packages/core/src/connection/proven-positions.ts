import type pg from 'pg'
import { type Lsn, parseLsn } from '../consistency/lsn.js'

/**
 * The highest replay position each pooled connection's server has proven, in a
 * check that ran on that very connection. A server's replay position only moves
 * forward while a connection to it lives (a restart ends the connection), so a
 * read on the same connection needs no new proof for a token at or below it.
 * Kept per connection, not per node: behind a balancer, one node's connections
 * may reach different servers.
 */
const proven = new WeakMap<pg.ClientBase, Lsn>()

/** The position proven on `client`, if any. */
export function provenOn(client: pg.ClientBase): Lsn | undefined {
  return proven.get(client)
}

/** Records a position `client`'s server was seen to have replayed. */
export function recordProven(client: pg.ClientBase, lsn: Lsn): void {
  const known = proven.get(client)
  if (known === undefined || lsn > known) proven.set(client, lsn)
}

/**
 * Proves on `client` itself, with one statement before the caller's, that its
 * server has replayed `lsn`: for a stream, whose cursor cannot share a flight, and
 * for a read-only transaction, whose snapshot is taken by its first statement,
 * after this check returned. Resolves with the position, or undefined on a server
 * that is not a standby.
 */
export async function checkReplay(client: pg.ClientBase): Promise<Lsn | undefined> {
  const { rows } = await client.query<{ lsn: string | null }>(
    'select pg_catalog.pg_last_wal_replay_lsn()::text as lsn',
  )
  const text = rows[0]?.lsn
  if (!text) return undefined
  const lsn = parseLsn(text)
  recordProven(client, lsn)
  return lsn
}
