import { type ClusterNode, containersAvailable } from '@causeway/testing'
import type { Generated } from 'kysely'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from '../support/fixture.js'
import { eventually } from '../support/wait.js'

interface DB {
  items: { id: Generated<number>; body: string }
}

const here = containersAvailable()
if (!here.ok) console.warn(`skipping the Causeway test on a container cluster: ${here.reason}`)

/** In containers every server listens on 5432: the node that served a query is told by its `cluster_name`. */
const servedBy = () => sql<string>`current_setting('cluster_name')`.as('served_by')

describe.skipIf(!here.ok)(
  `Causeway on a container cluster${here.ok ? '' : ` (skipped: ${here.reason})`}`,
  () => {
    let f: Fixture<DB>
    beforeAll(async () => {
      f = await setupFixture<DB>({
        cluster: { engine: 'containers', replicas: 2 },
        config: { health: { intervalMillis: 100 }, failover: 'follow' },
      })
      await f.cluster.primary.query('create table items (id serial primary key, body text not null)')
      await f.dialect.cluster.ready()
    })
    afterAll(() => f.close())

    it('routes reads to the replicas, writes to the primary, and reads its own writes past a paused replica', async () => {
      const written = await f.db
        .insertInto('items')
        .values({ body: 'first' })
        .returning(['id', servedBy()])
        .executeTakeFirstOrThrow()
      expect(written.served_by).toBe(f.cluster.primary.name)
      await eventually(async () => {
        const reads = await Promise.all(
          Array.from({ length: 6 }, () => f.db.selectNoFrom(servedBy()).executeTakeFirstOrThrow()),
        )
        return reads.every((row) => row.served_by !== f.cluster.primary.name)
      }, 'reads to go to the replicas')

      // Both replicas stop replaying: a read in the writer's session must still see its write.
      for (const replica of f.cluster.replicas) await replica.pauseReplay()
      try {
        const seen = await f.dialect.cluster.session(async () => {
          const row = await f.db
            .insertInto('items')
            .values({ body: 'mine' })
            .returning('id')
            .executeTakeFirstOrThrow()
          return f.db
            .selectFrom('items')
            .select(['body', servedBy()])
            .where('id', '=', row.id)
            .executeTakeFirst()
        })
        expect(seen?.body).toBe('mine')
        expect(seen?.served_by).toBe(f.cluster.primary.name)
      } finally {
        for (const replica of f.cluster.replicas) await replica.resumeReplay()
      }
    })

    it('follows an outside promotion after the primary container is killed', async () => {
      const [promoted, other] = f.cluster.replicas as [ClusterNode, ClusterNode]
      await f.cluster.primary.kill()
      await promoted.promote()
      await other.repoint(promoted)
      await eventually(
        () => f.dialect.cluster.status().primary === promoted.name,
        'Causeway to follow the promotion',
        30_000,
      )
      const row = await f.db
        .insertInto('items')
        .values({ body: 'after failover' })
        .returning(['id', servedBy()])
        .executeTakeFirstOrThrow()
      expect(row.served_by).toBe(promoted.name)
      const read = await f.dialect.cluster.session(async () => {
        await f.db.insertInto('items').values({ body: 'session' }).execute()
        return f.db.selectFrom('items').select('body').where('body', '=', 'session').executeTakeFirst()
      })
      expect(read?.body).toBe('session')
    })
  },
)
