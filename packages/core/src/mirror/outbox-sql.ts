/**
 * The durable mode's tables. On the primary, `causeway_mirror.outbox` holds one row
 * per mirrored transaction and durable mirror, written in the transaction itself;
 * on each mirror, `causeway_mirror.progress` holds the last outbox id applied
 * there, updated in the same mirror transaction as the rows it covers.
 */
export const OUTBOX_SCHEMA = 'causeway_mirror'

/**
 * The advisory lock every mirrored transaction takes just before its outbox insert
 * (`pg_advisory_xact_lock`), held until its COMMIT: mirrored commits are serialized,
 * so outbox ids follow commit order exactly. (A `bigserial` alone does not: two
 * transactions can take ids in one order and commit in the other.) The key is
 * `hashtext('causeway_mirror.outbox')`, fixed so that every app process shares it.
 */
export const OUTBOX_LOCK_KEY = 1_349_114_447

export const CREATE_OUTBOX = `create schema if not exists ${OUTBOX_SCHEMA};
create table if not exists ${OUTBOX_SCHEMA}.outbox (
  id bigserial primary key,
  mirror text not null,
  statements text not null,
  created_at timestamptz not null default clock_timestamp()
);
create index if not exists outbox_mirror_id on ${OUTBOX_SCHEMA}.outbox (mirror, id)`

export const CREATE_PROGRESS = `create schema if not exists ${OUTBOX_SCHEMA};
create table if not exists ${OUTBOX_SCHEMA}.progress (mirror text primary key, last_id bigint not null)`

/**
 * Takes the lock and inserts one row per durable mirror, as one statement (one round
 * trip): the CTE's lock is taken before the rows' ids are drawn. `$1` the mirrors'
 * names (`text[]`), `$2` the statements as JSON text.
 */
export const INSERT_OUTBOX = `with locked as (select pg_advisory_xact_lock(${OUTBOX_LOCK_KEY}))
insert into ${OUTBOX_SCHEMA}.outbox (mirror, statements) select m, $2 from locked, unnest($1::text[]) as m`

/** A statement in an outbox row: its text, its encoded parameters, the rows it changed on the primary. */
export interface OutboxStatement {
  readonly sql: string
  readonly parameters: string
  readonly rows: number | null
}
