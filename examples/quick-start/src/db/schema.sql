-- The demo schema. `pnpm --filter @causeway/example-quick-start codegen` regenerates
-- src/db/types.generated.ts from it with kysely-codegen, against an embedded cluster.
create table users (
  id serial primary key,
  name text not null,
  email text not null unique,
  created_at timestamptz not null default now()
);

create table posts (
  id serial primary key,
  author_id integer not null references users (id),
  title text not null,
  published boolean not null default false,
  created_at timestamptz not null default now()
);

create index posts_author_id on posts (author_id);
