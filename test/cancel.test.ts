import { CausewayDialect } from '@causeway/kysely'
import { CompiledQuery, type DatabaseConnection } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from './support/fixture.js'

/** A connection as Kysely 0.29 calls it, with a per-query AbortSignal and its abort handlers. */
type SignalledConnection = DatabaseConnection & {
  executeQuery(query: CompiledQuery, options: { signal?: AbortSignal }): Promise<unknown>
  cancelQuery(): Promise<void>
}

let f: Fixture<Record<string, never>>
beforeAll(async () => {
  f = await setupFixture<Record<string, never>>({ config: { consistency: { scope: 'session' } } })
  await f.dialect.cluster.ready()
})
afterAll(() => f.close())

describe('cancelling a running statement (Kysely 0.29 passes these through)', () => {
  it('cancel() stops a read on the replica it runs on', async () => {
    const connection = f.dialect.cluster.connect()
    try {
      const started = Date.now()
      // Observed from the start: the rejection may come before the cancel call returns.
      const outcome = connection.execute({ sql: 'select pg_sleep(10)', parameters: [], intent: 'read' }).then(
        () => undefined,
        (error: unknown) => error,
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(connection.node).toMatch(/^pg[23]$/)
      await connection.cancel()
      expect(await outcome).toMatchObject({ code: '57014' })
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      connection.release()
    }
  })

  // Regression: the connection cancelled on any abort, where PostgresConnection does
  // nothing: under Kysely 0.29's default strategy ('ignore query') an aborted UPDATE
  // must run on and commit. Kysely asks for cancelQuery/killSession when it wants them
  // (packages/kysely-plugin/test/kysely-029 compares the three strategies with
  // PostgresDialect's, on Kysely 0.29).
  it('an AbortSignal given to executeQuery cancels nothing; cancelQuery() does', async () => {
    // A dialect over the fixture's cluster as the app's own: its driver never closes it.
    const driver = new CausewayDialect({ cluster: f.dialect.cluster }).createDriver()
    await driver.init()
    // Kysely 0.29's signature; 0.28's type has neither the options nor cancelQuery.
    const connection = (await driver.acquireConnection()) as SignalledConnection
    const controller = new AbortController()
    try {
      const running = connection.executeQuery(CompiledQuery.raw('select pg_sleep(0.5) as slept'), {
        signal: controller.signal,
      })
      setTimeout(() => controller.abort(), 100)
      await expect(running).resolves.toMatchObject({ rows: [{ slept: '' }] })
      const started = Date.now()
      const cancelled = connection.executeQuery(CompiledQuery.raw('select pg_sleep(10)'), {}).then(
        () => undefined,
        (error: unknown) => error,
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
      await connection.cancelQuery()
      expect(await cancelled).toMatchObject({ code: '57014' })
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      await driver.releaseConnection(connection as DatabaseConnection)
      await driver.destroy()
    }
  })

  // Regression: a read whose session was killed counted as a lost connection and was
  // retried on another replica, so pg_sleep(10) still ran for the full 10 s.
  it('terminate() (killSession) ends a read, and it is not retried elsewhere', async () => {
    const connection = f.dialect.cluster.connect()
    try {
      const started = Date.now()
      const outcome = connection.execute({ sql: 'select pg_sleep(10)', parameters: [], intent: 'read' }).then(
        () => undefined,
        (error: unknown) => error,
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
      await connection.terminate()
      expect(await outcome).toMatchObject({ code: '57P01' })
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      connection.release()
    }
  })

  // A cancel meant for one statement arrives late, after it finished and the
  // connection started another: it must not hit that one (Kysely's queryId guard).
  it('a cancel for a statement that has finished does not cancel the next one', async () => {
    const connection = f.dialect.cluster.connect()
    const first = { queryId: 'first' }
    const second = { queryId: 'second' }
    try {
      await connection.execute({ sql: 'select 1', parameters: [], intent: 'read', queryId: first })
      const running = connection.execute({
        sql: 'select pg_sleep(0.5) as slept',
        parameters: [],
        intent: 'read',
        queryId: second,
      })
      await new Promise((resolve) => setTimeout(resolve, 100))
      await connection.cancel(first)
      await expect(running).resolves.toMatchObject({ rowCount: 1 })
      // The guard is by identity: the running statement's own id still cancels it.
      // Observed from the start: the rejection may come before the cancel call returns.
      const again = connection
        .execute({
          sql: 'select pg_sleep(10)',
          parameters: [],
          intent: 'read',
          queryId: second,
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        )
      await new Promise((resolve) => setTimeout(resolve, 100))
      await connection.cancel(second)
      expect(await again).toMatchObject({ code: '57014' })
    } finally {
      connection.release()
    }
  })
})
