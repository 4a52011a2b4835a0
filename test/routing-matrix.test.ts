import type { ClusterStatus } from '@causeway/core'
import { waitFor } from '@causeway/testing'
import { CamelCasePlugin, CompiledQuery, type Generated, type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, servedBy, setupFixture } from './support/fixture.js'

// The routing matrix: which kind of node each statement runs on, on a real
// primary (pg1) and two streaming replicas (pg2, pg3). The consistency scope is
// `session`, so a read outside `cluster.session()` carries no token and never
// waits for a replica or falls back to the primary after an earlier write: where
// a statement runs is then decided by its classification alone.

interface DB {
  users: { id: Generated<number>; name: string; email: string | null }
  posts: { id: Generated<number>; user_id: number; title: string }
  user_names: { id: number; name: string }
  post_counts: { user_id: number; posts: string }
  audit_log: { id: Generated<number>; note: string }
  ddl_alter: { id: number; flag: number | null }
}

/** The same schema as the CamelCasePlugin presents it. */
interface CamelDB {
  posts: { id: Generated<number>; userId: number; title: string }
}

type NodeKind = 'primary' | 'replica'

interface Row {
  readonly name: string
  readonly expected: NodeKind
  readonly run: (db: Kysely<DB>) => Promise<unknown>
  /** Cleanup outside the measured statement, straight on the primary (not through Causeway). */
  readonly after?: () => Promise<unknown>
}

let fixture: Fixture<DB>

/** What changed in the cluster's counters while `run` ran. */
interface Delta {
  readonly served: Readonly<Record<NodeKind, number>>
  readonly misclassifiedWrites: number
  readonly fallbacks: number
  readonly readRetries: number
}

async function measure(run: () => Promise<unknown>): Promise<Delta> {
  const before = fixture.dialect.cluster.status()
  await run()
  const after = fixture.dialect.cluster.status()
  const served: Record<NodeKind, number> = { primary: 0, replica: 0 }
  for (const node of after.nodes) {
    const earlier = before.nodes.find((n) => n.name === node.name)
    // Roles do not change here (no failover), so the role at either end will do.
    served[node.role === 'primary' ? 'primary' : 'replica'] += node.served - (earlier?.served ?? 0)
  }
  return {
    served,
    misclassifiedWrites: after.misclassifiedWrites - before.misclassifiedWrites,
    fallbacks: totalFallbacks(after) - totalFallbacks(before),
    readRetries: after.readRetries - before.readRetries,
  }
}

function totalFallbacks(status: ClusterStatus): number {
  return Object.values(status.fallbacks).reduce((sum, n) => sum + n, 0)
}

/**
 * Runs one statement and tells which kind of node completed it, from the nodes'
 * `served` counters. It also asserts that the node was chosen by classification
 * alone: no read fell back to the primary or was retried elsewhere, and no
 * replica refused a "read" with 25006 (the safety net would hide a misclassified
 * write by re-running it on the primary, and this matrix must not be fooled).
 */
async function servedOn(run: () => Promise<unknown>): Promise<NodeKind> {
  const delta = await measure(run)
  expect(delta.served.primary + delta.served.replica, 'statements counted').toBe(1)
  expect(delta.misclassifiedWrites, 'misclassified writes (25006 on a replica)').toBe(0)
  expect(delta.fallbacks, 'reads that fell back to the primary').toBe(0)
  expect(delta.readRetries, 'reads retried on another node').toBe(0)
  return delta.served.primary === 1 ? 'primary' : 'replica'
}

const raw = (text: string) => (db: Kysely<DB>) => db.executeQuery(CompiledQuery.raw(text))
const noUser = -1

const reads: Row[] = [
  { name: 'selectAll', expected: 'replica', run: (db) => db.selectFrom('users').selectAll().execute() },
  {
    name: 'where, orderBy, limit, offset',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .select(['id', 'name'])
        .where('name', 'like', 'a%')
        .orderBy('id', 'desc')
        .limit(2)
        .offset(1)
        .execute(),
  },
  {
    name: 'inner join',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .innerJoin('posts', 'posts.user_id', 'users.id')
        .select(['users.name', 'posts.title'])
        .execute(),
  },
  {
    name: 'left join',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .leftJoin('posts', 'posts.user_id', 'users.id')
        .select(['users.id', 'posts.title'])
        .execute(),
  },
  {
    name: 'subquery in where',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .selectAll()
        .where('id', 'in', db.selectFrom('posts').select('user_id'))
        .execute(),
  },
  {
    name: 'subquery in the select list',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .select((eb) => [
          'users.id',
          eb
            .selectFrom('posts')
            .select((e) => e.fn.countAll<string>().as('n'))
            .whereRef('posts.user_id', '=', 'users.id')
            .as('post_count'),
        ])
        .execute(),
  },
  {
    name: 'selectFrom(subquery)',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom(db.selectFrom('users').select(['id', 'name']).as('u'))
        .select('u.name')
        .execute(),
  },
  {
    name: 'exists',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where((eb) =>
          eb.exists(eb.selectFrom('posts').select('posts.id').whereRef('posts.user_id', '=', 'users.id')),
        )
        .execute(),
  },
  {
    name: 'union',
    expected: 'replica',
    run: (db) => db.selectFrom('users').select('id').union(db.selectFrom('posts').select('id')).execute(),
  },
  {
    name: 'unionAll',
    expected: 'replica',
    run: (db) =>
      db.selectFrom('users').select('id').unionAll(db.selectFrom('posts').select('user_id as id')).execute(),
  },
  {
    name: 'intersect',
    expected: 'replica',
    run: (db) =>
      db.selectFrom('users').select('id').intersect(db.selectFrom('posts').select('user_id as id')).execute(),
  },
  {
    name: 'except',
    expected: 'replica',
    run: (db) =>
      db.selectFrom('users').select('id').except(db.selectFrom('posts').select('user_id as id')).execute(),
  },
  {
    name: 'selectNoFrom',
    expected: 'replica',
    run: (db) => db.selectNoFrom((eb) => [eb.lit(1).as('one'), servedBy()]).execute(),
  },
  {
    name: 'aggregates with groupBy and having',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('posts')
        .select((eb) => ['user_id', eb.fn.countAll<string>().as('n'), eb.fn.max('id').as('last')])
        .groupBy('user_id')
        .having((eb) => eb.fn.countAll(), '>', 0)
        .execute(),
  },
  {
    name: 'window function',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('posts')
        .select((eb) => [
          'id',
          eb.fn
            .agg<string>('row_number')
            .over((ob) => ob.partitionBy('user_id'))
            .as('rn'),
        ])
        .execute(),
  },
  {
    name: 'distinctOn',
    expected: 'replica',
    run: (db) =>
      db.selectFrom('posts').distinctOn('user_id').select(['user_id', 'title']).orderBy('user_id').execute(),
  },
  {
    name: 'distinct',
    expected: 'replica',
    run: (db) => db.selectFrom('posts').select('user_id').distinct().execute(),
  },
  {
    name: 'case and cast',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .select((eb) => [
          eb.case().when('email', 'is', null).then('none').else('some').end().as('has_email'),
          eb.cast<string>('id', 'text').as('id_text'),
        ])
        .execute(),
  },
  {
    name: 'CamelCasePlugin',
    expected: 'replica',
    run: (db) =>
      (db.withPlugin(new CamelCasePlugin()) as unknown as Kysely<CamelDB>)
        .selectFrom('posts')
        .select(['id', 'userId'])
        .where('userId', '>', 0)
        .execute(),
  },
  {
    name: 'a CTE that only reads',
    expected: 'replica',
    run: (db) =>
      db
        .with('u', (qb) => qb.selectFrom('users').select(['id', 'name']))
        .selectFrom('u')
        .selectAll()
        .execute(),
  },
  {
    name: 'a plain view',
    expected: 'replica',
    run: (db) => db.selectFrom('user_names').selectAll().execute(),
  },
  {
    name: 'a materialized view',
    expected: 'replica',
    run: (db) => db.selectFrom('post_counts').selectAll().execute(),
  },
  {
    name: 'modifyEnd(sql`limit 1`)',
    expected: 'replica',
    run: (db) => db.selectFrom('users').select('id').modifyEnd(sql`limit 1`).execute(),
  },
  {
    name: "eb.fn('lower', ...)",
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .select((eb) => eb.fn<string>('lower', ['name']).as('lower_name'))
        .where((eb) => eb.fn('lower', ['name']), '=', 'ada')
        .execute(),
  },
  {
    name: 'sql`now()` in the select list and in where',
    expected: 'replica',
    run: (db) =>
      db
        .selectFrom('users')
        .select(sql<Date>`now()`.as('at'))
        .where(sql<boolean>`now() > '2000-01-01'`)
        .execute(),
  },
  {
    name: "a nested sql`` fragment whose string says 'insert'",
    expected: 'replica',
    run: (db) =>
      db.selectFrom('users').select(sql<string>`'insert into users; nextval(''seq'')'`.as('s')).execute(),
  },
  {
    name: 'Kysely .explain() of a select',
    expected: 'replica',
    run: (db) => db.selectFrom('users').selectAll().where('id', '=', 1).explain(),
  },
]

const writes: Row[] = [
  {
    name: 'insert',
    expected: 'primary',
    run: (db) => db.insertInto('users').values({ name: 'matrix', email: null }).execute(),
  },
  {
    name: 'insert returning',
    expected: 'primary',
    run: (db) => db.insertInto('users').values({ name: 'matrix' }).returning(['id', servedBy()]).execute(),
  },
  {
    name: 'insert ... select',
    expected: 'primary',
    run: (db) =>
      db
        .insertInto('posts')
        .columns(['user_id', 'title'])
        .expression(db.selectFrom('users').select(['id', 'name']).where(sql<boolean>`false`))
        .execute(),
  },
  {
    name: 'insert onConflict doNothing',
    expected: 'primary',
    run: (db) =>
      db
        .insertInto('users')
        .values({ id: 1, name: 'ada' })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute(),
  },
  {
    name: 'insert onConflict doUpdateSet returning',
    expected: 'primary',
    run: (db) =>
      db
        .insertInto('users')
        .values({ id: 1, name: 'ada' })
        .onConflict((oc) => oc.column('id').doUpdateSet({ name: 'ada' }))
        .returning('id')
        .execute(),
  },
  {
    name: 'update',
    expected: 'primary',
    run: (db) => db.updateTable('users').set({ name: 'nobody' }).where(sql<boolean>`false`).execute(),
  },
  {
    name: 'update returning',
    expected: 'primary',
    run: (db) =>
      db.updateTable('users').set({ email: null }).where('id', '=', noUser).returning('id').execute(),
  },
  {
    name: 'delete',
    expected: 'primary',
    run: (db) => db.deleteFrom('posts').where('id', '=', noUser).execute(),
  },
  {
    name: 'delete returning',
    expected: 'primary',
    run: (db) => db.deleteFrom('posts').where('id', '=', noUser).returningAll().execute(),
  },
  {
    name: 'merge',
    expected: 'primary',
    run: (db) =>
      db
        .mergeInto('users as t')
        .using('posts as p', 'p.user_id', 't.id')
        .whenMatched()
        .thenDoNothing()
        .execute(),
  },
  {
    name: 'merge returning',
    expected: 'primary',
    run: (db) =>
      db
        .mergeInto('users as t')
        .using('posts as p', 'p.id', 't.id')
        .whenMatchedAnd(sql<boolean>`false`)
        .thenUpdateSet({ name: 'never' })
        .returning('t.id')
        .execute(),
  },
  {
    name: 'a writing CTE (delete) inside a select',
    expected: 'primary',
    run: (db) =>
      db
        .with('d', (qb) => qb.deleteFrom('posts').where('id', '=', noUser).returning('id'))
        .selectFrom('d')
        .selectAll()
        .execute(),
  },
  {
    name: 'a writing CTE (update) beside a reading one',
    expected: 'primary',
    run: (db) =>
      db
        .with('r', (qb) => qb.selectFrom('users').select('id'))
        .with('u', (qb) =>
          qb.updateTable('users').set({ email: null }).where('id', '=', noUser).returning('id'),
        )
        .selectFrom('r')
        .selectAll()
        .execute(),
  },
  {
    // PostgreSQL allows a data-modifying CTE only at the top level, so the deepest
    // place for one is a top-level CTE whose result is joined further down.
    name: 'a writing CTE (insert ... select) joined to a table',
    expected: 'primary',
    run: (db) =>
      db
        .with('i', (qb) =>
          qb
            .insertInto('posts')
            .columns(['user_id', 'title'])
            .expression((eb) => eb.selectFrom('users').select(['id', 'name']).where(sql<boolean>`false`))
            .returning(['id', 'user_id']),
        )
        .selectFrom('users')
        .leftJoin('i', 'i.user_id', 'users.id')
        .select(['users.id', 'i.id as post_id'])
        .execute(),
  },
  {
    name: 'forUpdate',
    expected: 'primary',
    run: (db) => db.selectFrom('users').selectAll().where('id', '=', noUser).forUpdate().execute(),
  },
  {
    name: 'forNoKeyUpdate',
    expected: 'primary',
    run: (db) => db.selectFrom('users').selectAll().where('id', '=', noUser).forNoKeyUpdate().execute(),
  },
  {
    name: 'forShare',
    expected: 'primary',
    run: (db) => db.selectFrom('users').selectAll().where('id', '=', noUser).forShare().execute(),
  },
  {
    name: 'forKeyShare',
    expected: 'primary',
    run: (db) => db.selectFrom('users').selectAll().where('id', '=', noUser).forKeyShare().execute(),
  },
  {
    name: 'forUpdate skipLocked',
    expected: 'primary',
    run: (db) =>
      db.selectFrom('users').selectAll().where('id', '=', noUser).forUpdate().skipLocked().execute(),
  },
  {
    name: 'forShare noWait',
    expected: 'primary',
    run: (db) => db.selectFrom('users').selectAll().where('id', '=', noUser).forShare().noWait().execute(),
  },
  {
    name: 'forUpdate in a subquery in from',
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom(db.selectFrom('users').select('id').where('id', '=', noUser).forUpdate().as('locked'))
        .selectAll()
        .execute(),
  },
  {
    name: 'modifyEnd(sql`for update`)',
    expected: 'primary',
    run: (db) =>
      db.selectFrom('users').select('id').where('id', '=', noUser).modifyEnd(sql`for update`).execute(),
  },
  {
    name: "eb.fn('nextval') in the select list",
    expected: 'primary',
    run: (db) => db.selectNoFrom((eb) => eb.fn<string>('nextval', [sql.lit('seq')]).as('n')).execute(),
  },
  {
    name: "eb.fn('nextval') in where",
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb('id', '=', eb.fn<number>('nextval', [eb.val('seq')])))
        .execute(),
  },
  {
    name: "eb.fn('setval')",
    expected: 'primary',
    run: (db) =>
      db.selectNoFrom((eb) => eb.fn<string>('setval', [sql.lit('seq'), sql.lit(1000)]).as('s')).execute(),
  },
  {
    name: "eb.fn('pg_advisory_lock') + eb.fn('pg_advisory_unlock')",
    expected: 'primary',
    run: (db) =>
      db
        .selectNoFrom((eb) => [
          eb.fn('pg_advisory_lock', [sql.lit(4242)]).as('locked'),
          eb.fn<boolean>('pg_advisory_unlock', [sql.lit(4242)]).as('unlocked'),
        ])
        .execute(),
  },
  {
    name: "eb.fn('pg_try_advisory_xact_lock') in where",
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb.fn<boolean>('pg_try_advisory_xact_lock', [sql.lit(4243)]))
        .execute(),
  },
  {
    name: "eb.fn('set_config') in the select list",
    expected: 'primary',
    run: (db) =>
      db
        .selectNoFrom((eb) =>
          eb.fn<string>('set_config', [sql.lit('causeway.matrix'), sql.lit('x'), sql.lit(true)]).as('v'),
        )
        .execute(),
  },
  {
    name: "eb.fn('set_config') in where",
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where((eb) =>
          eb(eb.fn('set_config', [eb.val('causeway.matrix'), eb.val('y'), eb.lit(true)]), '=', 'y'),
        )
        .execute(),
  },
  {
    name: "nested sql`nextval('seq')` in the select list",
    expected: 'primary',
    run: (db) => db.selectNoFrom(sql<string>`nextval('seq')`.as('n')).execute(),
  },
  {
    name: 'nested sql`setval(...)` in the select list',
    expected: 'primary',
    run: (db) => db.selectNoFrom(sql<string>`setval('seq', 2000)`.as('s')).execute(),
  },
  {
    name: 'nested sql`pg_advisory_lock(...)`, pg_advisory_unlock(...)',
    expected: 'primary',
    run: (db) =>
      db
        .selectNoFrom([
          sql`pg_advisory_lock(${4244})`.as('locked'),
          sql<boolean>`pg_advisory_unlock(${4244})`.as('unlocked'),
        ])
        .execute(),
  },
  {
    name: 'nested sql`pg_try_advisory_xact_lock(...)` in where',
    expected: 'primary',
    run: (db) =>
      db.selectFrom('users').select('id').where(sql<boolean>`pg_try_advisory_xact_lock(4245)`).execute(),
  },
  {
    name: 'nested sql`set_config(...)` in where',
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where(sql<boolean>`set_config('causeway.matrix', ${'z'}, true) = 'z'`)
        .execute(),
  },
  {
    name: 'nested sql`nextval` in where',
    expected: 'primary',
    run: (db) => db.selectFrom('users').select('id').where('id', '=', sql<number>`nextval('seq')`).execute(),
  },
  {
    name: "eb.fn('pg_catalog.nextval'), schema-qualified",
    expected: 'primary',
    run: (db) =>
      db.selectNoFrom((eb) => eb.fn<string>('pg_catalog.nextval', [sql.lit('seq')]).as('n')).execute(),
  },
  {
    name: "eb.fn('pg_notify')",
    expected: 'primary',
    run: (db) =>
      db
        .selectNoFrom((eb) => eb.fn('pg_notify', [sql.lit('matrix_channel'), sql.lit('hello')]).as('n'))
        .execute(),
  },
  {
    name: "eb.fn('txid_current') and eb.fn('pg_current_xact_id')",
    expected: 'primary',
    run: (db) =>
      db
        .selectNoFrom((eb) => [
          eb.fn<string>('txid_current').as('txid'),
          eb.fn<string>('pg_current_xact_id').as('xid'),
        ])
        .execute(),
  },
  {
    name: "eb.fn('pg_current_wal_lsn') in a subquery in where",
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb.exists(db.selectNoFrom((e) => e.fn<string>('pg_current_wal_lsn').as('lsn'))))
        .execute(),
  },
  {
    name: "eb.fn('nextval') in orderBy",
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .orderBy((eb) => eb.fn<number>('nextval', [sql.lit('seq')]))
        .execute(),
  },
  {
    name: "nested sql`(sql.id('nextval'))(...)`: the name is a parameter",
    expected: 'primary',
    run: (db) => db.selectNoFrom(sql<string>`${sql.id('nextval')}('seq')`.as('n')).execute(),
  },
  // Regression guards for a classifier gap: a write function's name at the end of
  // one fragment, with its argument list in a nested sql`` (a parameter). The
  // fragment is scanned as `nextval $1 `, so the name is not followed by `(` and is
  // not taken for a call; the nested `('seq')` alone names nothing.
  {
    name: "nested sql`nextval` + a nested sql`('seq')` as its argument list",
    expected: 'primary',
    run: (db) => db.selectNoFrom(sql<string>`nextval${sql`('seq')`}`.as('n')).execute(),
  },
  {
    name: 'nested sql`pg_try_advisory_xact_lock` + a nested sql`(...)` as its argument list, in where',
    expected: 'primary',
    run: (db) =>
      db
        .selectFrom('users')
        .select('id')
        .where(sql<boolean>`pg_try_advisory_xact_lock${sql`(${4247})`}`)
        .execute(),
  },
  {
    name: 'nested sql`nextval /* why */ (...)`: a comment between name and paren',
    expected: 'primary',
    run: (db) => db.selectNoFrom(sql<string>`nextval /* why */ ('seq')`.as('n')).execute(),
  },
]

const ddl: Row[] = [
  {
    name: 'schema.createTable',
    expected: 'primary',
    run: (db) =>
      db.schema
        .createTable('matrix_created')
        .ifNotExists()
        .addColumn('id', 'integer', (col) => col.primaryKey())
        .execute(),
    after: () => fixture.cluster.primary.query('drop table if exists matrix_created'),
  },
  {
    name: 'schema.alterTable',
    expected: 'primary',
    run: (db) =>
      db.schema
        .alterTable('ddl_alter')
        .alterColumn('flag', (col) => col.setDefault(1))
        .execute(),
  },
  {
    name: 'schema.dropTable',
    expected: 'primary',
    run: (db) => db.schema.dropTable('matrix_never_created').ifExists().execute(),
  },
  {
    name: 'schema.createIndex',
    expected: 'primary',
    run: (db) => db.schema.createIndex('users_name_idx').ifNotExists().on('users').column('name').execute(),
  },
  {
    name: 'schema.dropIndex',
    expected: 'primary',
    run: (db) => db.schema.dropIndex('matrix_no_such_idx').ifExists().execute(),
  },
  {
    name: 'schema.createView',
    expected: 'primary',
    run: (db) =>
      db.schema
        .createView('matrix_view')
        .orReplace()
        .as(db.selectFrom('users').select(['id', 'name']))
        .execute(),
    after: () => fixture.cluster.primary.query('drop view if exists matrix_view'),
  },
  {
    name: 'schema.dropView',
    expected: 'primary',
    run: (db) => db.schema.dropView('matrix_no_such_view').ifExists().execute(),
  },
  {
    name: 'schema.refreshMaterializedView',
    expected: 'primary',
    run: (db) => db.schema.refreshMaterializedView('post_counts').execute(),
  },
]

const rawSql: Row[] = [
  {
    name: 'raw: select with a parameter',
    expected: 'replica',
    run: (db) => sql`select * from users where id = ${1}`.execute(db),
  },
  {
    name: 'raw: -- delete line comment before a select',
    expected: 'replica',
    run: (db) => sql`-- delete from users\nselect 1 as one`.execute(db),
  },
  {
    name: 'raw: /* insert */ block comments around a select',
    expected: 'replica',
    run: raw('/* insert into users */ select id from users /* delete */'),
  },
  {
    name: 'raw: quoted strings that say insert and delete',
    expected: 'replica',
    run: (db) => sql`select 'insert into users values (1)' as a, 'delete from users' as b`.execute(db),
  },
  {
    name: 'raw: a quoted identifier "delete" as a column alias',
    expected: 'replica',
    run: raw('select id as "delete" from users'),
  },
  {
    name: 'raw: dollar quoting $$delete from users$$',
    expected: 'replica',
    run: raw('select $$delete from users$$ as s, $q$insert; update$q$ as t'),
  },
  {
    name: 'raw: a string naming nextval(',
    expected: 'replica',
    run: raw("select lower('NEXTVAL(''seq'')') as s"),
  },
  { name: 'raw: EXPLAIN select', expected: 'replica', run: raw('explain select * from users where id = 1') },
  {
    name: 'raw: EXPLAIN ANALYZE select',
    expected: 'replica',
    run: raw('explain analyze select * from users'),
  },
  {
    name: 'raw: EXPLAIN (no ANALYZE) of a delete only plans it',
    expected: 'replica',
    run: raw('explain delete from users where id = -1'),
  },
  {
    name: 'raw: EXPLAIN ANALYZE DELETE',
    expected: 'primary',
    run: raw('explain analyze delete from users where false'),
  },
  {
    name: 'raw: EXPLAIN (ANALYZE, FORMAT JSON) of a select with nextval',
    expected: 'primary',
    run: raw("explain (analyze, format json) select nextval('seq')"),
  },
  { name: 'raw: SHOW server_version', expected: 'replica', run: raw('SHOW server_version') },
  { name: 'raw: TABLE users', expected: 'replica', run: raw('TABLE users') },
  { name: 'raw: VALUES (1)', expected: 'replica', run: raw('VALUES (1), (2)') },
  {
    name: 'raw: multi-statement select 1; select 2',
    expected: 'primary',
    run: raw('select 1; select 2'),
  },
  {
    name: 'raw: SELECT ... INTO newtable',
    expected: 'primary',
    run: raw('select id, name into matrix_into from users'),
    after: () => fixture.cluster.primary.query('drop table if exists matrix_into'),
  },
  {
    name: 'raw: a writing CTE',
    expected: 'primary',
    run: (db) =>
      sql`with d as (delete from posts where id = ${noUser} returning id) select * from d`.execute(db),
  },
  {
    name: 'raw: select ... for update',
    expected: 'primary',
    run: raw('select * from users where false for update'),
  },
  { name: "raw: select nextval('seq')", expected: 'primary', run: raw("select nextval('seq')") },
  { name: 'raw: values (nextval(...))', expected: 'primary', run: raw("values (nextval('seq'))") },
  {
    name: 'raw: select pg_notify(...)',
    expected: 'primary',
    run: raw("select pg_notify('matrix_channel', 'hi')"),
  },
  {
    name: 'raw: pg_try_advisory_xact_lock in a subquery',
    expected: 'primary',
    run: raw('select * from users where exists (select pg_try_advisory_xact_lock(4246))'),
  },
  {
    name: 'raw: insert',
    expected: 'primary',
    run: (db) => sql`insert into users (name) values (${'raw'})`.execute(db),
  },
  { name: 'raw: set local', expected: 'primary', run: raw('set local statement_timeout = 0') },
  { name: 'raw: set', expected: 'primary', run: raw("set application_name = 'causeway-matrix'") },
  { name: 'raw: listen', expected: 'primary', run: raw('listen matrix_channel') },
  { name: 'raw: unlisten', expected: 'primary', run: raw('unlisten matrix_channel') },
  { name: 'raw: do $$ begin end $$', expected: 'primary', run: raw('do $$ begin end $$') },
  { name: 'raw: call a procedure', expected: 'primary', run: raw('call noop_proc()') },
  { name: 'raw: copy ... to stdout', expected: 'primary', run: raw('copy (select 1) to stdout') },
]

const matrix: Row[] = [...reads, ...writes, ...ddl, ...rawSql]

beforeAll(async () => {
  fixture = await setupFixture<DB>({ config: { consistency: { scope: 'session' } } })
  const { primary, replicas } = fixture.cluster
  await primary.query(`
    create table users (id serial primary key, name text not null, email text);
    create table posts (id serial primary key, user_id int not null, title text not null);
    create table audit_log (id serial primary key, note text not null);
    create table ddl_alter (id int primary key, flag int);
    create sequence seq;
    insert into users (name, email) values ('ada', 'ada@example.com'), ('alan', null), ('grace', null);
    insert into posts (user_id, title) values (1, 'notes'), (1, 'more notes'), (3, 'compilers');
    create view user_names as select id, name from users;
    create materialized view post_counts as select user_id, count(*) as posts from posts group by user_id;
    create procedure noop_proc() language plpgsql as $$ begin end $$;
    -- A write the classifier cannot see: from the outside it is a plain function call.
    create function write_in_select() returns int language plpgsql as $$
      begin
        insert into audit_log (note) values ('written in a select');
        return 1;
      end
    $$;
  `)
  // Reads go to replicas at once, so they must have replayed the schema first.
  const [{ lsn } = { lsn: '' }] = await primary.query<{ lsn: string }>(
    'select pg_current_wal_lsn()::text as lsn',
  )
  for (const replica of replicas) {
    await waitFor(
      async () =>
        (
          await replica.query<{ ok: boolean }>('select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn])
        )[0]?.ok,
      { what: `${replica.name} to replay the schema`, timeoutMillis: 10_000, intervalMillis: 5 },
    )
  }
  await fixture.dialect.cluster.ready()
  const status = fixture.dialect.cluster.status()
  expect(status.primary).toBe('pg1')
  expect(
    status.nodes.filter((n) => n.role === 'replica' && n.state === 'healthy').map((n) => n.name),
  ).toEqual(['pg2', 'pg3'])
})

afterAll(() => fixture?.close())

describe('the routing matrix', () => {
  it('has at least 60 statements, each named once', () => {
    expect(matrix.length).toBeGreaterThanOrEqual(60)
    expect(new Set(matrix.map((row) => row.name)).size).toBe(matrix.length)
  })

  it.each(matrix)('$name → $expected', async ({ run, expected, after }) => {
    try {
      expect(await servedOn(() => run(fixture.db))).toBe(expected)
    } finally {
      await after?.()
    }
  })

  it('agrees with inet_server_port() where the result can carry it', async () => {
    const [read] = await fixture.db.selectFrom('users').select(servedBy()).limit(1).execute()
    const [locked] = await fixture.db.selectFrom('users').select(servedBy()).limit(1).forUpdate().execute()
    expect(fixture.nodeAt(read?.served_by ?? 0)).toMatch(/^pg[23]$/)
    expect(fixture.nodeAt(locked?.served_by ?? 0)).toBe('pg1')
  })
})

describe('streaming', () => {
  // A stream is not counted in `served`, so its node is read off inet_server_port().
  it('streams a select from a replica and a locking select from the primary', async () => {
    const nodes = async (query: AsyncIterable<{ served_by: number }>) => {
      const seen = new Set<string>()
      for await (const row of query) seen.add(fixture.nodeAt(row.served_by))
      return [...seen]
    }
    const read = await nodes(fixture.db.selectFrom('users').select(servedBy()).stream(2))
    const locked = await nodes(fixture.db.selectFrom('users').select(servedBy()).forUpdate().stream(2))
    expect(read).toHaveLength(1)
    expect(read[0]).toMatch(/^pg[23]$/)
    expect(locked).toEqual(['pg1'])
  })
})

describe('the 25006 safety net', () => {
  it('runs a write hidden in a function on the primary after a replica refuses it, and reports it', async () => {
    const statements: string[] = []
    const off = fixture.dialect.cluster.on('misclassified-write', (event) => {
      statements.push(event.statement)
    })
    try {
      const count = async () =>
        Number(
          (await fixture.cluster.primary.query<{ n: string }>('select count(*) as n from audit_log'))[0]?.n,
        )
      const rowsBefore = await count()
      let result: unknown
      const delta = await measure(async () => {
        result = await fixture.db.selectNoFrom(sql<number>`write_in_select()`.as('x')).execute()
      })
      expect(result).toEqual([{ x: 1 }])
      // The replica refused it (nothing counted there); the primary completed it once.
      expect(delta.served).toEqual({ primary: 1, replica: 0 })
      expect(delta.misclassifiedWrites).toBe(1)
      expect(await count()).toBe(rowsBefore + 1)
      expect(statements).toHaveLength(1)
      expect(statements[0]).toContain('write_in_select()')
    } finally {
      off()
    }
  })
})
