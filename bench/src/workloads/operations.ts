import { ROWS } from '../fixture.js'
import type { Operation } from '../run/operation.js'

/**
 * A point select by primary key. The select list carries `inet_server_port()`, so
 * every contender's answer says which server ran it: that is how the bench counts
 * replica reads, the same way for all (one cheap function call, for all alike).
 *
 * select "id", "name", "qty", inet_server_port() as "port" from "bench_items" where "id" = $1
 */
export const pointRead: Operation = async (db, random) => {
  const row = await db
    .selectFrom('bench_items')
    .select(['id', 'name', 'qty'])
    .select((eb) => eb.fn<number>('inet_server_port').as('port'))
    .where('id', '=', randomId(random))
    .executeTakeFirstOrThrow()
  return { kind: 'read', port: row.port }
}

/**
 * A single-row update by primary key.
 *
 * update "bench_items" set "qty" = "qty" + $1, "updated_at" = now() where "id" = $2
 */
export const updateOne: Operation = async (db, random) => {
  await db
    .updateTable('bench_items')
    .set((eb) => ({ qty: eb('qty', '+', 1), updated_at: eb.fn<Date>('now') }))
    .where('id', '=', randomId(random))
    .executeTakeFirstOrThrow()
  return { kind: 'write' }
}

/** `writeShare` of the operations are `updateOne`, the rest `pointRead`. */
export function mix(writeShare: number): Operation {
  return (db, random) => (random() < writeShare ? updateOne(db, random) : pointRead(db, random))
}

/** A uniformly drawn id of a `bench_items` row. */
export function randomId(random: () => number): number {
  return 1 + Math.floor(random() * ROWS)
}
