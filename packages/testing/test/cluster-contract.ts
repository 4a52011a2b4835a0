import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClusterNode, type StartClusterOptions, type TestCluster, waitFor } from '../src/index.js'

/**
 * What every engine's cluster must do, run by cluster.test.ts on the embedded
 * engine and by cluster.containers.test.ts on the container engine: replication,
 * pause and resume, addReplica, promotion, re-pointing, stop, start and kill, and
 * a cascade.
 */
export function describeClusterContract(start: (options: StartClusterOptions) => Promise<TestCluster>): void {
  const visible = (node: ClusterNode, id: number) =>
    waitFor(async () => (await node.query('select 1 from t where id = $1', [id])).length === 1, {
      what: `row ${id} on ${node.name}`,
      timeoutMillis: 10_000,
      intervalMillis: 5,
    })

  const count = async (node: ClusterNode, id: number) =>
    (await node.query('select 1 from t where id = $1', [id])).length

  describe('a started cluster', () => {
    let cluster: TestCluster
    beforeAll(async () => {
      cluster = await start({ replicas: 2 })
      await cluster.primary.query('create table t (id int primary key)')
    })
    afterAll(() => cluster.close())

    it('replicates a row written on the primary to every replica', async () => {
      await cluster.primary.query('insert into t values (1)')
      for (const replica of cluster.replicas) await visible(replica, 1)
      for (const replica of cluster.replicas) expect(await count(replica, 1)).toBe(1)
    })

    it('rejects a write on a replica with SQLSTATE 25006', async () => {
      await expect(cluster.replicas[0]!.query('insert into t values (2)')).rejects.toMatchObject({
        code: '25006',
      })
    })

    it('keeps a paused replica behind until it resumes', async () => {
      const [paused, live] = cluster.replicas as [ClusterNode, ClusterNode]
      await paused.pauseReplay()
      await cluster.primary.query('insert into t values (3)')
      await visible(live, 3)
      // The live replica has it; the paused one must not, even a while later.
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await count(paused, 3)).toBe(0)
      await paused.resumeReplay()
      await visible(paused, 3)
    })

    it('adds a replica to the running cluster with the online backup API', async () => {
      await cluster.primary.query('insert into t values (4)')
      const added = await cluster.addReplica()
      expect(added.name).toBe('pg4')
      expect(await added.isInRecovery()).toBe(true)
      expect(await count(added, 4)).toBe(1)
      await cluster.primary.query('insert into t values (5)')
      await visible(added, 5)
      expect(cluster.nodes.map((node) => node.name)).toEqual(['pg1', 'pg2', 'pg3', 'pg4'])
    })

    it('promotes a replica to a writable primary on a higher timeline, and repoints another to it', async () => {
      const [promoted, follower] = cluster.replicas as [ClusterNode, ClusterNode]
      const before = await promoted.timeline()
      await cluster.primary.stop({ mode: 'fast' })
      await promoted.promote()
      expect(await promoted.isInRecovery()).toBe(false)
      expect(await promoted.timeline()).toBeGreaterThan(before)
      await promoted.query('insert into t values (6)')

      await follower.repoint(promoted)
      await visible(follower, 6)
      expect(await follower.timeline()).toBe(await promoted.timeline())
    })

    it('restarts a stopped server and survives a kill', async () => {
      const node = cluster.replicas[1]!
      await node.stop()
      await expect(node.query('select 1')).rejects.toThrow()
      await node.start()
      expect(await node.query('select 1 as one')).toEqual([{ one: 1 }])
      await node.kill()
      await expect(node.query('select 1')).rejects.toThrow()
      await node.start()
      expect(await node.isInRecovery()).toBe(true)
    })
  })

  describe('a cascaded cluster', () => {
    it('passes the primary’s writes down the chain through the upstream replica', async () => {
      await using cluster = await start({ replicas: 2, cascade: true })
      const [middle, tail] = cluster.replicas as [ClusterNode, ClusterNode]
      // Each standby connects with its name as application_name: the tail is the middle's sender, not the primary's.
      const senders = async (node: ClusterNode) =>
        (await node.query<{ name: string }>('select application_name as name from pg_stat_replication')).map(
          (row) => row.name,
        )
      expect(await senders(middle)).toEqual([tail.name])
      expect(await senders(cluster.primary)).toEqual([middle.name])
      await cluster.primary.query('create table t (id int primary key)')
      await cluster.primary.query('insert into t values (1)')
      await visible(tail, 1)
      expect(await count(tail, 1)).toBe(1)
    })
  })
}
