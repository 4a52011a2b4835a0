import { CausewayConnection } from '@causeway/kysely'
import { CompiledQuery } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Fixture, setupFixture } from './support/fixture.js'

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

  it('an AbortSignal given to executeQuery cancels the statement on its server', async () => {
    const connection = new CausewayConnection(f.dialect.cluster.connect(), undefined)
    const controller = new AbortController()
    try {
      const started = Date.now()
      const running = connection.executeQuery(CompiledQuery.raw('select pg_sleep(10)'), {
        signal: controller.signal,
      })
      setTimeout(() => controller.abort(), 200)
      await expect(running).rejects.toMatchObject({ code: '57014' })
      expect(Date.now() - started).toBeLessThan(5_000)
      await expect(
        connection.executeQuery(CompiledQuery.raw('select 1'), { signal: controller.signal }),
      ).rejects.toThrow()
    } finally {
      connection.routed.release()
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
})
