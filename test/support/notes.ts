import type { Generated, Kysely } from 'kysely'
import { servedBy } from './fixture.js'

/** The table the read-your-writes tests write to and read back from. */
export interface NotesDB {
  notes: { id: Generated<number>; body: string }
}

/**
 * Inserts a note, then reads it back by id, with the port of the server that
 * answered: the round a stale read would show in. The read is sent at once, or
 * once `pause` resolves (`cluster.token()` waits for the write's token, after
 * which a replica may serve the read).
 */
export async function writeThenRead(
  db: Kysely<NotesDB>,
  body: string,
  onAcknowledged?: () => void,
  pause?: () => Promise<unknown>,
) {
  const { id } = await db.insertInto('notes').values({ body }).returning('id').executeTakeFirstOrThrow()
  onAcknowledged?.()
  if (pause) await pause()
  return db.selectFrom('notes').select(['body', servedBy()]).where('id', '=', id).executeTakeFirst()
}
