import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RoutedConnection } from '../../src/connection/routed-connection.js'
import { type AssembledCluster, assembledCluster, read, write } from '../support/assembled-cluster.js'

let c: AssembledCluster

beforeAll(async () => {
  c = await assembledCluster({ config: { consistency: { scope: 'session' } } })
  await c.cluster.primary.query('create table notes (id serial primary key, body text)')
})
afterAll(() => c?.close())

const servedBy = read('select inet_server_port() as port')

/** The name of the server that ran `servedBy` on `connection`. */
async function server(connection: RoutedConnection): Promise<string> {
  const { rows } = await connection.execute(servedBy)
  const port = Number(rows[0]?.port)
  return c.cluster.nodes.find((node) => node.port === port)?.name ?? `port ${port}`
}

/** Runs `fn` on a new routed connection, released afterwards. */
async function withConnection<T>(fn: (connection: RoutedConnection) => Promise<T>): Promise<T> {
  const connection = new RoutedConnection(c.parts)
  try {
    return await fn(connection)
  } finally {
    connection.release()
  }
}

const replicaNames = ['pg2', 'pg3']

describe('RoutedConnection (real cluster)', () => {
  it('binds nothing before its first statement, then reads on a replica', async () => {
    await withConnection(async (connection) => {
      expect(connection.node).toBeUndefined()
      const name = await server(connection)
      expect(replicaNames).toContain(name)
      expect(connection.node).toBe(name)
    })
  })

  it('moves to the primary at its first write, and reads there from then on', async () => {
    await withConnection(async (connection) => {
      expect(replicaNames).toContain(await server(connection))
      await connection.execute(write(`insert into notes (body) values ('moved')`))
      expect(connection.node).toBe('pg1')
      for (let i = 0; i < 3; i++) expect(await server(connection)).toBe('pg1')
      // It reads its own write, and session state lives there.
      const { rows } = await connection.execute(
        read(`select count(*)::int as n from notes where body = 'moved'`),
      )
      expect(rows[0]?.n).toBe(1)
    })
  })

  it('keeps a transaction on the primary from begin to commit, reads included', async () => {
    await withConnection(async (connection) => {
      await connection.begin()
      expect(connection.inTransaction).toBe(true)
      expect(await server(connection)).toBe('pg1')
      await connection.execute(write(`insert into notes (body) values ('in a transaction')`))
      expect(await server(connection)).toBe('pg1')
      const { rows } = await connection.execute(read('select txid_current_if_assigned() as xid'))
      expect(rows[0]?.xid).not.toBeNull() // one server transaction throughout
      expect(await connection.commit()).toBe('COMMIT')
      expect(connection.inTransaction).toBe(false)
    })
  })

  it('runs a read-only transaction on one replica', async () => {
    await withConnection(async (connection) => {
      await connection.begin({ accessMode: 'read only', sql: 'begin transaction read only' })
      const first = await server(connection)
      expect(replicaNames).toContain(first)
      const { rows } = await connection.execute(read('select pg_is_in_recovery() as standby'))
      expect(rows[0]?.standby).toBe(true)
      for (let i = 0; i < 5; i++) expect(await server(connection)).toBe(first)
      expect(await connection.commit()).toBe('COMMIT')
    })
  })

  it('runs a serializable read-only transaction on the primary', async () => {
    await withConnection(async (connection) => {
      await connection.begin({ accessMode: 'read only', isolationLevel: 'serializable' })
      expect(await server(connection)).toBe('pg1')
      await connection.rollback()
    })
  })

  it('cancels only the statement named by queryId, never a later one', async () => {
    await withConnection(async (connection) => {
      const outcome = connection.execute({ ...read('select pg_sleep(20)'), queryId: 'sleep' }).then(
        () => 'finished',
        (error: { code?: string }) => error.code,
      )
      // Wait until the sleep runs on its server, so that a cancel could reach it.
      for (let i = 0; i < 500 && !(await sleeping(connection)); i++) await pause(10)
      expect(await sleeping(connection)).toBe(true)
      await connection.cancel('another query')
      await pause(100)
      expect(await sleeping(connection)).toBe(true)
      await connection.cancel('sleep')
      expect(await outcome).toBe('57014')
      // Nothing runs now: a cancel is a no-op, and the next statement is untouched.
      await connection.cancel()
      await connection.cancel('sleep')
      expect(replicaNames).toContain(await server(connection))
    })
  })

  it('can be released twice, and refuses statements after release', async () => {
    const connection = new RoutedConnection(c.parts)
    await server(connection)
    connection.release()
    connection.release()
    await expect(connection.execute(servedBy)).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(connection.begin()).rejects.toMatchObject({ code: 'CLOSED' })
  })
})

/** Whether `connection`'s server is running a pg_sleep now. */
async function sleeping(connection: RoutedConnection): Promise<boolean> {
  const name = connection.node
  const node = c.cluster.nodes.find((n) => n.name === name)
  if (!node) return false
  const rows = await node.query(
    `select 1 from pg_stat_activity where state = 'active' and query like 'select pg_sleep(20)%'`,
  )
  return rows.length > 0
}

const pause = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
