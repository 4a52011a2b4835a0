import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Cluster } from '@causeway/core'

/**
 * The one app every framework serves, with or without its Causeway integration:
 *
 * - `POST /notes` with a JSON body `{ body }` (parsed by the framework) inserts a
 *   note and answers `{ id }`;
 * - `POST /notes/stream` does the same and answers `{ id }` as a streamed body, in
 *   two chunks;
 * - `GET /notes/:id` answers `{ found }`.
 */
export interface NotesApp {
  readonly base: string
  close(): Promise<void>
}

/** Starts a framework's notes app on a free port; `integrated: false` leaves Causeway out. */
export type StartNotesApp = (db: Cluster, integrated: boolean) => Promise<NotesApp>

/** The statements behind the routes, shared so that only the framework glue differs. */
export const notes = {
  async insert(db: Cluster, body: unknown): Promise<number> {
    const { rows } = await db.query<{ id: number }>('insert into notes (body) values ($1) returning id', [
      String((body as { body?: unknown } | undefined)?.body),
    ])
    return rows[0]!.id
  },
  async found(db: Cluster, id: string | undefined): Promise<boolean> {
    const { rows } = await db.query('select 1 from notes where id = $1', [Number(id)])
    return rows.length === 1
  },
}

/** The streamed body of `POST /notes/stream`: the JSON split in two chunks. */
export function chunks(id: number): [string, string] {
  const json = JSON.stringify({ id })
  return [json.slice(0, 3), json.slice(3)]
}

/** Listens on a free loopback port. */
export async function listening(server: Server): Promise<NotesApp> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
