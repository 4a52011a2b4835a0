import { type Kysely, sql } from 'kysely'

// A migration sees the database untyped: it is what makes the types (src/db.d.ts).
// biome-ignore lint/suspicious/noExplicitAny: Kysely's Migration takes Kysely<any>
export type AnyKysely = Kysely<any>

/** One migration, as Kysely 0.28 and 0.29 both define it. */
export interface Migration {
  up(db: AnyKysely): Promise<void>
  down?(db: AnyKysely): Promise<void>
}

/**
 * The app's schema, in order. `pnpm --filter @causeway/example-http-app codegen`
 * applies these to an embedded primary and generates src/db.d.ts from the result.
 */
export const migrations: Record<string, Migration> = {
  '001_users_and_posts': {
    async up(db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute()
      await db.schema
        .createTable('posts')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute()
      await db.schema.createIndex('posts_author_id').on('posts').column('author_id').execute()
    },
    async down(db) {
      await db.schema.dropTable('posts').execute()
      await db.schema.dropTable('users').execute()
    },
  },
  '002_post_tags': {
    async up(db) {
      await db.schema
        .alterTable('posts')
        .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
        .execute()
    },
    async down(db) {
      await db.schema.alterTable('posts').dropColumn('tags').execute()
    },
  },
}
