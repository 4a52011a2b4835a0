import { loadSqlParser } from '@causeway/core'
import {
  CamelCasePlugin,
  CompiledQuery,
  DummyDriver,
  type Generated,
  Kysely,
  type OperationNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type RootOperationNode,
  type SelectModifier,
  SelectModifierNode,
  sql,
  WhereNode,
} from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { classifyQuery, NODE_KINDS } from '../../src/classify/index.js'

interface Database {
  users: {
    id: Generated<number>
    name: string
    email: string
    org_id: number
    meta: { kind: string } | null
    created_at: Generated<Date>
  }
  orders: { id: Generated<number>; user_id: number; total: number }
  audit: { id: Generated<number>; user_id: number; action: string }
}

interface CamelDatabase {
  users: { id: Generated<number>; fullName: string; orgId: number }
  auditLog: { id: Generated<number>; userId: number }
}

// Kysely with no database behind it: the tests only build and compile queries.
const dialect = {
  createAdapter: () => new PostgresAdapter(),
  createDriver: () => new DummyDriver(),
  createIntrospector: (db: Kysely<unknown>) => new PostgresIntrospector(db),
  createQueryCompiler: () => new PostgresQueryCompiler(),
}
const db = new Kysely<Database>({ dialect })
const camel = new Kysely<CamelDatabase>({ dialect }).withPlugin(new CamelCasePlugin())

interface Case {
  readonly name: string
  readonly node: () => RootOperationNode
  /** The expected reason, or a pattern for it. */
  readonly reason?: string | RegExp
}

beforeAll(async () => {
  await loadSqlParser()
})

describe('classifyQuery', () => {
  const reads: readonly Case[] = [
    {
      name: 'point select',
      node: () => db.selectFrom('users').selectAll().where('id', '=', 1).toOperationNode(),
    },
    {
      name: 'columns with aliases',
      node: () => db.selectFrom('users as u').select(['u.id', 'u.name as n']).toOperationNode(),
    },
    {
      name: 'inner join',
      node: () =>
        db
          .selectFrom('users')
          .innerJoin('orders', 'orders.user_id', 'users.id')
          .select(['users.name', 'orders.total'])
          .toOperationNode(),
    },
    {
      name: 'left join with an on callback',
      node: () =>
        db
          .selectFrom('users')
          .leftJoin('orders', (join) =>
            join.onRef('orders.user_id', '=', 'users.id').on('orders.total', '>', 10),
          )
          .selectAll()
          .toOperationNode(),
    },
    {
      name: 'lateral join on a subquery',
      node: () =>
        db
          .selectFrom('users')
          .innerJoinLateral(
            (eb) =>
              eb.selectFrom('orders').select('total').whereRef('orders.user_id', '=', 'users.id').as('o'),
            (join) => join.onTrue(),
          )
          .select(['users.id', 'o.total'])
          .toOperationNode(),
    },
    {
      name: 'where in a list of values',
      node: () => db.selectFrom('users').selectAll().where('id', 'in', [1, 2, 3]).toOperationNode(),
    },
    {
      name: 'and/or expression',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where((eb) => eb.or([eb('name', '=', 'a'), eb.and([eb('org_id', '=', 1), eb('id', '>', 5)])]))
          .toOperationNode(),
    },
    {
      name: 'in subquery',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where('id', 'in', db.selectFrom('orders').select('user_id'))
          .toOperationNode(),
    },
    {
      name: 'exists',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where((eb) =>
            eb.exists(eb.selectFrom('orders').select('id').whereRef('orders.user_id', '=', 'users.id')),
          )
          .toOperationNode(),
    },
    {
      name: 'select from a subquery',
      node: () =>
        db
          .selectFrom(db.selectFrom('orders').select(['user_id', 'total']).as('o'))
          .select('o.total')
          .toOperationNode(),
    },
    {
      name: 'union, union all and intersect',
      node: () =>
        db
          .selectFrom('users')
          .select('id')
          .union(db.selectFrom('orders').select('user_id as id'))
          .unionAll(db.selectFrom('audit').select('user_id as id'))
          .intersect(db.selectFrom('orders').select('user_id as id'))
          .toOperationNode(),
    },
    {
      name: 'group by, having and countAll',
      node: () =>
        db
          .selectFrom('orders')
          .select((eb) => ['user_id', eb.fn.countAll().as('n')])
          .groupBy('user_id')
          .having((eb) => eb.fn.countAll(), '>', 1)
          .toOperationNode(),
    },
    {
      name: 'order by desc, limit and offset',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .orderBy('created_at', 'desc')
          .orderBy('id', (ob) => ob.asc().nullsLast())
          .limit(10)
          .offset(20)
          .toOperationNode(),
    },
    {
      name: 'distinct and distinct on',
      node: () => db.selectFrom('users').distinctOn('org_id').select('org_id').distinct().toOperationNode(),
    },
    {
      name: 'fn.agg and fn.sum',
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => [
            eb.fn.agg<string>('string_agg', ['name', sql.lit(', ')]).as('names'),
            eb.fn.sum('org_id').as('s'),
          ])
          .toOperationNode(),
    },
    {
      name: 'window function over a partition',
      node: () =>
        db
          .selectFrom('orders')
          .select((eb) =>
            eb.fn
              .sum('total')
              .over((ob) => ob.partitionBy('user_id').orderBy('id'))
              .as('running'),
          )
          .toOperationNode(),
    },
    {
      name: 'a read function in where',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where((eb) => eb.fn('lower', ['email']), '=', 'a@b.c')
          .toOperationNode(),
    },
    {
      name: 'cast and case',
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => [
            eb.cast<string>('id', 'text').as('id_text'),
            eb.case().when('org_id', '=', 1).then('one').else('other').end().as('label'),
          ])
          .toOperationNode(),
    },
    {
      name: 'selectNoFrom',
      node: () => db.selectNoFrom((eb) => [eb.val(1).as('one'), eb.lit(2).as('two')]).toOperationNode(),
    },
    {
      name: 'sql<string>`now()` nested',
      node: () => db.selectFrom('users').select(sql<string>`now()`.as('now')).toOperationNode(),
    },
    {
      name: 'sql`lower(value)` with parameters',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where(sql<string>`lower(${'ALICE'})`, '=', sql<string>`lower(${sql.ref('name')})`)
          .toOperationNode(),
    },
    {
      name: 'sql.ref, sql.id, sql.join and sql.lit nested',
      node: () =>
        db
          .selectFrom('users')
          .select(sql<number>`${sql.ref('users.id')} + ${sql.lit(1)}`.as('next'))
          .where(sql.id('users', 'org_id'), 'in', sql`(${sql.join([1, 2, 3])})`)
          .toOperationNode(),
    },
    {
      name: 'a column named like a write function, through sql.ref',
      node: () =>
        db
          .selectFrom('users')
          .select(sql.ref<number>('lo_bound').as('b'))
          .where(sql<boolean>`${sql.ref('lo_bound')} > ${1}`)
          .toOperationNode(),
    },
    {
      name: 'modifyEnd(sql`limit 1`)',
      node: () => db.selectFrom('users').selectAll().modifyEnd(sql`limit 1`).toOperationNode(),
    },
    {
      name: 'a read-only CTE',
      node: () =>
        db
          .with('big', (qb) => qb.selectFrom('orders').selectAll().where('total', '>', 100))
          .selectFrom('big')
          .selectAll()
          .toOperationNode(),
    },
    {
      name: 'a recursive CTE',
      node: () =>
        db
          .withRecursive('ids(n)', (qb) =>
            qb
              .selectNoFrom(sql<number>`1`.as('n'))
              .unionAll((eb) => eb.selectFrom('ids').select(sql<number>`n + 1`.as('n')).where('n', '<', 10)),
          )
          .selectFrom('ids')
          .selectAll()
          .toOperationNode(),
    },
    {
      name: 'a parameter that looks like a node',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where('meta', '=', { kind: 'InsertQueryNode' })
          .where('meta', 'in', [{ kind: 'DeleteQueryNode' }])
          .toOperationNode(),
    },
    {
      name: 'json references',
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => eb.ref('meta', '->>').key('kind').as('k'))
          .toOperationNode(),
    },
    {
      name: 'CamelCasePlugin select',
      node: () =>
        camel.selectFrom('users').select(['fullName', 'orgId']).where('orgId', '=', 1).compile().query,
    },
    {
      name: 'a compiled select',
      node: () => db.selectFrom('users').selectAll().where('id', '=', 1).compile().query,
    },
  ]

  const writes: readonly Case[] = [
    {
      name: 'insert',
      node: () =>
        db.insertInto('users').values({ name: 'a', email: 'a@b.c', org_id: 1, meta: null }).toOperationNode(),
      reason: 'InsertQueryNode',
    },
    {
      name: 'insert returning',
      node: () =>
        db
          .insertInto('users')
          .values({ name: 'a', email: 'a@b.c', org_id: 1, meta: null })
          .returning('id')
          .toOperationNode(),
      reason: 'InsertQueryNode',
    },
    {
      name: 'insert … select',
      node: () =>
        db
          .insertInto('audit')
          .columns(['user_id', 'action'])
          .expression(db.selectFrom('users').select(['id', sql.lit('seen').as('action')]))
          .toOperationNode(),
      reason: 'InsertQueryNode',
    },
    {
      name: 'insert on conflict do update',
      node: () =>
        db
          .insertInto('users')
          .values({ name: 'a', email: 'a@b.c', org_id: 1, meta: null })
          .onConflict((oc) => oc.column('email').doUpdateSet({ name: 'b' }))
          .toOperationNode(),
      reason: 'InsertQueryNode',
    },
    {
      name: 'update',
      node: () => db.updateTable('users').set({ name: 'b' }).where('id', '=', 1).toOperationNode(),
      reason: 'UpdateQueryNode',
    },
    {
      name: 'update returning',
      node: () =>
        db.updateTable('users').set({ name: 'b' }).where('id', '=', 1).returningAll().toOperationNode(),
      reason: 'UpdateQueryNode',
    },
    {
      name: 'delete',
      node: () => db.deleteFrom('users').where('id', '=', 1).toOperationNode(),
      reason: 'DeleteQueryNode',
    },
    {
      name: 'delete returning',
      node: () => db.deleteFrom('users').where('id', '=', 1).returning(['id', 'name']).toOperationNode(),
      reason: 'DeleteQueryNode',
    },
    {
      name: 'merge',
      node: () =>
        db
          .mergeInto('users as u')
          .using('orders as o', 'o.user_id', 'u.id')
          .whenMatched()
          .thenUpdateSet({ name: 'buyer' })
          .whenNotMatched()
          .thenDoNothing()
          .toOperationNode(),
      reason: 'MergeQueryNode',
    },
    {
      name: 'merge returning',
      node: () =>
        db
          .mergeInto('audit as a')
          .using('users as u', 'u.id', 'a.user_id')
          .whenNotMatched()
          .thenInsertValues({ user_id: 1, action: 'x' })
          .returning('a.id')
          .toOperationNode(),
      reason: 'MergeQueryNode',
    },
    {
      name: 'a writing CTE in a select',
      node: () =>
        db
          .with('x', (qb) => qb.deleteFrom('users').returning('id'))
          .selectFrom('x')
          .selectAll()
          .toOperationNode(),
      reason: 'writing CTE (DeleteQueryNode)',
    },
    {
      name: 'a writing CTE inside a read CTE',
      node: () =>
        db
          .with('outer', (qb) =>
            qb
              .with('inner', (inner) => inner.updateTable('users').set({ name: 'b' }).returning('id'))
              .selectFrom('inner')
              .selectAll(),
          )
          .selectFrom('outer')
          .selectAll()
          .toOperationNode(),
      reason: 'writing CTE (UpdateQueryNode)',
    },
    {
      name: 'a writing CTE inside a subquery in where',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where('id', 'in', (eb) =>
            eb
              .selectFrom(
                db
                  .with('gone', (qb) => qb.deleteFrom('orders').returning('user_id'))
                  .selectFrom('gone')
                  .select('user_id')
                  .as('g'),
              )
              .select('g.user_id'),
          )
          .toOperationNode(),
      reason: 'writing CTE (DeleteQueryNode)',
    },
    {
      name: 'an insert CTE in a select',
      node: () =>
        db
          .with('added', (qb) => qb.insertInto('audit').values({ user_id: 1, action: 'x' }).returning('id'))
          .selectFrom('added')
          .selectAll()
          .compile().query,
      reason: 'writing CTE (InsertQueryNode)',
    },
    {
      name: 'forUpdate',
      node: () => db.selectFrom('users').selectAll().forUpdate().toOperationNode(),
      reason: 'FOR UPDATE',
    },
    {
      name: 'forNoKeyUpdate',
      node: () => db.selectFrom('users').selectAll().forNoKeyUpdate().toOperationNode(),
      reason: 'FOR NO KEY UPDATE',
    },
    {
      name: 'forShare',
      node: () => db.selectFrom('users').selectAll().forShare().toOperationNode(),
      reason: 'FOR SHARE',
    },
    {
      name: 'forKeyShare',
      node: () => db.selectFrom('users').selectAll().forKeyShare().toOperationNode(),
      reason: 'FOR KEY SHARE',
    },
    {
      name: 'forUpdate of a table, skipLocked',
      node: () => db.selectFrom('users').selectAll().forUpdate(['users']).skipLocked().toOperationNode(),
      reason: 'FOR UPDATE',
    },
    {
      name: 'forShare noWait',
      node: () => db.selectFrom('users').selectAll().forShare().noWait().toOperationNode(),
      reason: 'FOR SHARE',
    },
    {
      name: 'a lock in a subquery',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where('id', 'in', (eb) => eb.selectFrom('orders').select('user_id').forUpdate().skipLocked())
          .toOperationNode(),
      reason: 'FOR UPDATE',
    },
    {
      name: 'modifyEnd(sql`for update`)',
      node: () => db.selectFrom('users').selectAll().modifyEnd(sql`for update`).toOperationNode(),
      reason: /^raw fragment: .*for update/i,
    },
    {
      name: 'modifyEnd(sql`for no key update skip locked`)',
      node: () =>
        db.selectFrom('users').selectAll().modifyEnd(sql`for no key update skip locked`).toOperationNode(),
      reason: /^raw fragment: .*for no key update/i,
    },
    {
      name: "fn('nextval') in the select list",
      node: () =>
        db
          .selectNoFrom((eb) => eb.fn<number>('nextval', [sql.lit('users_id_seq')]).as('id'))
          .toOperationNode(),
      reason: 'function nextval()',
    },
    {
      name: "fn('setval') in the select list",
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => eb.fn<number>('setval', [sql.lit('users_id_seq'), eb.fn.max('id')]).as('v'))
          .toOperationNode(),
      reason: 'function setval()',
    },
    {
      name: "fn('pg_advisory_lock') in the select list",
      node: () => db.selectNoFrom((eb) => eb.fn('pg_advisory_lock', [eb.val(42)]).as('l')).toOperationNode(),
      reason: 'function pg_advisory_lock()',
    },
    {
      name: "fn('set_config') in the select list",
      node: () =>
        db
          .selectNoFrom((eb) => eb.fn('set_config', [eb.val('app.user'), eb.val('1'), eb.val(false)]).as('c'))
          .toOperationNode(),
      reason: 'function set_config()',
    },
    {
      name: "fn('nextval') in where",
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where('id', '<', (eb) => eb.fn<number>('nextval', [sql.lit('users_id_seq')]))
          .toOperationNode(),
      reason: 'function nextval()',
    },
    {
      name: "fn('pg_try_advisory_lock') in where",
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where((eb) => eb.fn<boolean>('pg_try_advisory_lock', ['id']), '=', true)
          .toOperationNode(),
      reason: 'function pg_try_advisory_lock()',
    },
    {
      name: "fn('set_config') in where",
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where((eb) => eb.fn<string>('set_config', [eb.val('a.b'), eb.val('1'), eb.val(true)]), '=', '1')
          .toOperationNode(),
      reason: 'function set_config()',
    },
    {
      name: "fn('setval') in having",
      node: () =>
        db
          .selectFrom('orders')
          .select('user_id')
          .groupBy('user_id')
          .having((eb) => eb.fn<number>('setval', [sql.lit('s'), eb.val(1)]), '>', 0)
          .toOperationNode(),
      reason: 'function setval()',
    },
    {
      name: 'a schema-qualified write function',
      node: () =>
        db.selectNoFrom((eb) => eb.fn('pg_catalog.nextval', [sql.lit('s')]).as('n')).toOperationNode(),
      reason: 'function pg_catalog.nextval()',
    },
    {
      name: 'a write function inside fn.agg',
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => eb.fn.agg<number>('max', [eb.fn<number>('currval', [sql.lit('s')])]).as('m'))
          .toOperationNode(),
      reason: 'function currval()',
    },
    {
      name: 'a write function used as fn.agg',
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => eb.fn.agg<number>('lo_unlink', ['id']).as('m'))
          .toOperationNode(),
      reason: 'function lo_unlink()',
    },
    {
      name: "sql`nextval('s')` nested in a select",
      node: () => db.selectFrom('users').select(sql<number>`nextval('s')`.as('n')).toOperationNode(),
      reason: /^raw fragment: .*nextval/,
    },
    {
      name: 'sql`pg_advisory_xact_lock(id)` nested in where',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where(sql<boolean>`pg_advisory_xact_lock(${1}) is not null`)
          .toOperationNode(),
      reason: /^raw fragment: .*pg_advisory_xact_lock/,
    },
    {
      name: 'a write function named through sql.id',
      node: () => db.selectNoFrom(sql<number>`${sql.id('nextval')}(${'s'})`.as('n')).toOperationNode(),
      reason: /^raw fragment: .*nextval/,
    },
    {
      name: 'a schema-qualified write function named through sql.ref',
      node: () =>
        db.selectNoFrom(sql<number>`${sql.ref('pg_catalog.nextval')}('s')`.as('n')).toOperationNode(),
      reason: /^raw fragment: .*nextval/,
    },
    {
      name: 'a write function named through a two-part sql.id',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where(sql<boolean>`${sql.id('pg_catalog', 'pg_advisory_lock')}(${1}) is not null`)
          .toOperationNode(),
      reason: /^raw fragment: .*pg_advisory_lock/,
    },
    {
      name: 'a write function and its arguments in separate sql.join children',
      node: () =>
        db.selectNoFrom(sql.join([sql.id('setval'), sql`('s', 1)`], sql``).as('v')).toOperationNode(),
      reason: /^raw fragment: .*setval/,
    },
    {
      name: 'a write function inside a parameter of a read fragment',
      node: () =>
        db
          .selectFrom('users')
          .select((eb) => sql<string>`lower(${eb.fn('nextval', [sql.lit('s')])})`.as('x'))
          .toOperationNode(),
      reason: 'function nextval()',
    },
    {
      name: 'a delete inside a parameter of a raw fragment',
      node: () =>
        db
          .selectFrom('users')
          .selectAll()
          .where('id', 'in', sql<number>`(${db.deleteFrom('orders').returning('user_id')})`)
          .toOperationNode(),
      reason: 'DeleteQueryNode',
    },
    {
      name: 'CamelCasePlugin insert',
      node: () => camel.insertInto('auditLog').values({ userId: 1 }).compile().query,
      reason: 'InsertQueryNode',
    },
    {
      name: 'CamelCasePlugin select with a writing CTE',
      node: () =>
        camel
          .with('gone', (qb) => qb.deleteFrom('auditLog').returning('userId'))
          .selectFrom('gone')
          .selectAll()
          .compile().query,
      reason: 'writing CTE (DeleteQueryNode)',
    },
    {
      name: 'CamelCasePlugin select for update',
      node: () => camel.selectFrom('users').select('fullName').forUpdate().compile().query,
      reason: 'FOR UPDATE',
    },
    {
      name: 'createTable',
      node: () =>
        db.schema
          .createTable('t')
          .addColumn('id', 'serial', (col) => col.primaryKey())
          .addColumn('name', 'text', (col) => col.notNull().defaultTo('x'))
          .toOperationNode(),
      reason: 'CreateTableNode',
    },
    {
      name: 'alterTable addColumn',
      node: () => db.schema.alterTable('users').addColumn('age', 'integer').toOperationNode(),
      reason: 'AlterTableNode',
    },
    {
      name: 'alterTable alterColumn',
      node: () =>
        db.schema
          .alterTable('users')
          .alterColumn('name', (col) => col.setDataType('varchar(100)'))
          .toOperationNode(),
      reason: 'AlterTableNode',
    },
    {
      name: 'alterTable renameColumn',
      node: () => db.schema.alterTable('users').renameColumn('name', 'full_name').toOperationNode(),
      reason: 'AlterTableNode',
    },
    {
      name: 'alterTable addUniqueConstraint',
      node: () =>
        db.schema.alterTable('users').addUniqueConstraint('users_email', ['email']).toOperationNode(),
      reason: 'AlterTableNode',
    },
    {
      name: 'dropTable',
      node: () => db.schema.dropTable('t').ifExists().toOperationNode(),
      reason: 'DropTableNode',
    },
    {
      name: 'createIndex',
      node: () =>
        db.schema.createIndex('users_email').on('users').column('email').using('btree').toOperationNode(),
      reason: 'CreateIndexNode',
    },
    {
      name: 'dropIndex',
      node: () => db.schema.dropIndex('users_email').toOperationNode(),
      reason: 'DropIndexNode',
    },
    {
      name: 'createView',
      node: () =>
        db.schema
          .createView('big_orders')
          .materialized()
          .as(db.selectFrom('orders').selectAll().where('total', '>', 100))
          .toOperationNode(),
      reason: 'CreateViewNode',
    },
    {
      name: 'dropView',
      node: () => db.schema.dropView('big_orders').toOperationNode(),
      reason: 'DropViewNode',
    },
    {
      name: 'refreshMaterializedView',
      node: () => db.schema.refreshMaterializedView('big_orders').concurrently().toOperationNode(),
      reason: 'RefreshMaterializedViewNode',
    },
    {
      name: 'createType',
      node: () => db.schema.createType('mood').asEnum(['sad', 'ok', 'happy']).toOperationNode(),
      reason: 'CreateTypeNode',
    },
    { name: 'dropType', node: () => db.schema.dropType('mood').toOperationNode(), reason: 'DropTypeNode' },
    {
      name: 'createSchema',
      node: () => db.schema.createSchema('app').toOperationNode(),
      reason: 'CreateSchemaNode',
    },
    {
      name: 'dropSchema',
      node: () => db.schema.dropSchema('app').cascade().toOperationNode(),
      reason: 'DropSchemaNode',
    },
    {
      name: 'an unknown node kind nested inside a select',
      node: () => {
        const select = db.selectFrom('users').selectAll().toOperationNode()
        // What a newer Kysely might add: a kind this table has never seen.
        const teleport = Object.freeze({ kind: 'TeleportNode' }) as unknown as OperationNode
        return { ...select, where: WhereNode.create(teleport) }
      },
      reason: 'unknown node kind TeleportNode',
    },
    {
      name: 'an unknown select modifier',
      node: () => {
        const select = db.selectFrom('users').selectAll().toOperationNode()
        const modifier = SelectModifierNode.create('ForPortionOf' as unknown as SelectModifier)
        return { ...select, endModifiers: [modifier] }
      },
      reason: 'unknown select modifier ForPortionOf',
    },
    {
      name: 'a root raw delete, treated as a fragment',
      node: () => CompiledQuery.raw('delete from users where id = $1', [1]).query,
      reason: /^raw fragment: .*delete/i,
    },
  ]

  it.each(reads)('$name is a read', ({ node }) => {
    expect(classifyQuery(node())).toEqual({ intent: 'read', reason: 'plain read' })
  })

  it.each(writes)('$name is a write', ({ node, reason }) => {
    const classification = classifyQuery(node())
    expect(classification.intent).not.toBe('read')
    if (typeof reason === 'string') expect(classification.reason).toBe(reason)
    else if (reason !== undefined) expect(classification.reason).toMatch(reason)
  })

  it('covers at least fifty queries', () => {
    expect(reads.length + writes.length).toBeGreaterThanOrEqual(50)
  })
})

describe('NODE_KINDS', () => {
  it('routes every statement kind that changes data or schema to the primary', () => {
    for (const kind of ['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode'] as const) {
      expect(NODE_KINDS[kind]).toBe('write')
    }
    for (const [kind, category] of Object.entries(NODE_KINDS)) {
      if (/^(Create|Drop|Alter|Add|Rename|Modify|Refresh)/.test(kind))
        expect([kind, category]).toEqual([kind, 'write'])
    }
  })

  it('keeps DataTypeNode neutral, because eb.cast() puts it in selects', () => {
    expect(NODE_KINDS.DataTypeNode).toBe('walk')
  })
})

describe('regressions', () => {
  // Found by the routing matrix: the name ended one raw fragment and its argument
  // list was a nested `sql` fragment, so the scanner saw `nextval $1` and no call.
  it('sees a write function whose argument list is a nested sql fragment', () => {
    const nested = db.selectNoFrom(sql<number>`nextval${sql`('seq')`}`.as('n')).toOperationNode()
    expect(classifyQuery(nested).intent).toBe('write')
    const lock = db
      .selectFrom('users')
      .select('id')
      .where(sql<boolean>`pg_try_advisory_xact_lock${sql`(${4247})`}`)
      .toOperationNode()
    expect(classifyQuery(lock).intent).toBe('write')
  })
})
