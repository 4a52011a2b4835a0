import type pg from 'pg'
import { type Lsn, parseLsn } from '../consistency/lsn.js'

/**
 * Replay positions proven by checks that ran on the app's own connections, kept
 * per server: a server's replay position only moves forward while it runs, so a
 * position one connection proved holds for every read that any connection to the
 * same server starts later. A server is known by its start time, which each
 * connection learns with its first check (a restart gives a new one). Behind a
 * balancer, one node's connections reach different servers, and each server has
 * its own proof.
 */
export class ProvenPositions {
  /** The server each pooled connection reached, once a check has told. */
  readonly #serverOf = new WeakMap<pg.ClientBase, string>()
  /** The highest position proven per server (few: one per server behind each URL and lifetime). */
  readonly #proven = new Map<string, Lsn>()

  /** The position proven for `client`'s server, if its server and a proof are known. */
  on(client: pg.ClientBase): Lsn | undefined {
    const server = this.#serverOf.get(client)
    return server === undefined ? undefined : this.#proven.get(server)
  }

  /** Records what a check on `client` proved: its server, and a position that server had replayed. */
  record(client: pg.ClientBase, server: string | undefined, lsn: Lsn): void {
    if (server === undefined) return
    this.#serverOf.set(client, server)
    const known = this.#proven.get(server)
    if (known === undefined || lsn > known) {
      // Restarted servers leave their old lifetimes behind: keep the map small.
      if (known === undefined && this.#proven.size >= 256) this.#proven.clear()
      this.#proven.set(server, lsn)
    }
  }

  /**
   * Proves on `client` itself, with one statement before the caller's, the
   * position its server has replayed: for a stream, whose cursor cannot share a
   * flight, and for a read-only transaction, whose snapshot is taken by its first
   * statement, after this check returned. Undefined on a server that is not a standby.
   */
  async check(client: pg.ClientBase): Promise<Lsn | undefined> {
    const { rows } = await client.query<{ lsn: string | null; server: string }>(
      'select pg_catalog.pg_last_wal_replay_lsn()::text as lsn, extract(epoch from pg_catalog.pg_postmaster_start_time())::text as server',
    )
    const row = rows[0]
    if (!row?.lsn) return undefined
    const lsn = parseLsn(row.lsn)
    this.record(client, row.server, lsn)
    return lsn
  }
}
