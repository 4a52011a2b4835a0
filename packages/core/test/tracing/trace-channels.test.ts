import { tracingChannel } from 'node:diagnostics_channel'
import { startCluster, type TestCluster } from '@causeway/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Cluster,
  createCluster,
  MirrorTimeoutError,
  REPLAY_WAIT_CHANNEL,
  type ReplayWaitTraceContext,
  STATEMENT_CHANNEL,
  type StatementTraceContext,
} from '../../src/index.js'

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'

/** Every event of a TracingChannel while subscribed, in order, with a snapshot of its context. */
function record<C extends object>(name: string) {
  const events: { phase: Phase; context: C; snapshot: Record<string, unknown> }[] = []
  const on = (phase: Phase) => (context: C) => {
    const { error: _e, result: _r, ...rest } = context as Record<string, unknown>
    events.push({ phase, context, snapshot: { ...rest } })
  }
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  }
  const channel = tracingChannel<unknown, C>(name)
  channel.subscribe(handlers)
  return {
    events,
    /** The finished traces: each context with the phases it went through. */
    traces: () => {
      const byContext = new Map<C, Phase[]>()
      for (const event of events)
        byContext.set(event.context, [...(byContext.get(event.context) ?? []), event.phase])
      return [...byContext].map(([context, phases]) => ({ context, phases }))
    },
    clear: () => {
      events.length = 0
    },
    stop: () => channel.unsubscribe(handlers),
  }
}

let cluster: TestCluster
let db: Cluster

beforeAll(async () => {
  cluster = await startCluster()
  await cluster.primary.query('create table notes (id serial primary key, body text not null)')
  db = createCluster({
    primary: { connectionString: cluster.primary.url, name: 'pg1' },
    replicas: cluster.replicas.map((node) => ({ connectionString: node.url, name: node.name })),
    // Reads right after a write take the primary at once ('capture-pending'), never a wait.
    consistency: { scope: 'session' },
  })
  await db.ready()
})
afterAll(async () => {
  await db?.close()
  await cluster?.close()
})

describe('the statement TracingChannel', () => {
  it('publishes a write on the primary, with where it ran, why, and its row count', async () => {
    const statements = record<StatementTraceContext>(STATEMENT_CHANNEL)
    try {
      await db.query(`insert into notes (body) values ($1)`, ['secret-param'])
    } finally {
      statements.stop()
    }
    const [trace, ...more] = statements.traces()
    expect(more).toEqual([])
    expect(trace!.phases).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(trace!.context).toMatchObject({
      node: 'pg1',
      role: 'primary',
      intent: 'write',
      reason: 'write',
      statement: 'insert into notes (body) values ($1)',
      serverAddress: '127.0.0.1',
      serverPort: cluster.primary.port,
      database: 'postgres',
      rowCount: 1,
    })
    // Start already knows the route; no parameter value or credential is in it.
    expect(statements.events[0]!.snapshot).not.toHaveProperty('rowCount')
    const password = new URL(cluster.primary.url).password
    const text = JSON.stringify(statements.events.map((e) => e.snapshot))
    expect(text).not.toContain('secret-param')
    expect(password.length).toBeGreaterThan(0)
    expect(text).not.toContain(password)
  })

  it('publishes a read on a replica as "replica", and a read right after a write as the capture-pending fallback', async () => {
    const statements = record<StatementTraceContext>(STATEMENT_CHANNEL)
    try {
      await db.session(() => db.query('select count(*) from notes'))
      await db.session(async () => {
        await db.query(`insert into notes (body) values ('mine')`)
        await db.query(`select body from notes where body = 'mine'`)
      })
    } finally {
      statements.stop()
    }
    const traces = statements.traces().map((t) => t.context)
    expect(traces.map((t) => [t.statement, t.role, t.reason])).toEqual([
      ['select count(*) from notes', 'replica', 'replica'],
      [`insert into notes (body) values ('mine')`, 'primary', 'write'],
      [`select body from notes where body = 'mine'`, 'primary', 'capture-pending'],
    ])
    const replica = cluster.nodes.find((n) => n.name === traces[0]!.node)!
    expect(traces[0]!.serverPort).toBe(replica.port)
    expect(traces[2]!.rowCount).toBe(1)
  })

  it('publishes a failed statement with error, asyncStart and asyncEnd, and its SQLSTATE', async () => {
    const statements = record<StatementTraceContext>(STATEMENT_CHANNEL)
    try {
      await expect(db.query('insert into no_such_table values (1)')).rejects.toThrow(/no_such_table/)
    } finally {
      statements.stop()
    }
    const [trace, ...more] = statements.traces()
    expect(more).toEqual([])
    expect(trace!.phases).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(trace!.context).toMatchObject({ node: 'pg1', reason: 'write', errorCode: '42P01' })
    expect((trace!.context.error as Error).message).toMatch(/no_such_table/)
  })

  it('leaves out health probes, token captures and replay polls', async () => {
    const statements = record<StatementTraceContext>(STATEMENT_CHANNEL)
    try {
      await db.session(
        async () => {
          await db.query(`insert into notes (body) values ('probe')`)
          // A token capture, a probe round, and (sync) replay polls of the replicas.
          await db.token()
          await db.checkHealth()
        },
        { sync: { replicas: 'all', timeoutMillis: 10_000 } },
      )
    } finally {
      statements.stop()
    }
    expect(statements.traces().map((t) => t.context.statement)).toEqual([
      `insert into notes (body) values ('probe')`,
    ])
  })
})

describe('the replay-wait TracingChannel', () => {
  it('publishes a synchronous mirroring wait with its position and the replicas that replayed it', async () => {
    const waits = record<ReplayWaitTraceContext>(REPLAY_WAIT_CHANNEL)
    try {
      await db.session(() => db.query(`insert into notes (body) values ('mirrored')`), {
        sync: { replicas: 'all', timeoutMillis: 10_000 },
      })
    } finally {
      waits.stop()
    }
    const [trace, ...more] = waits.traces()
    expect(more).toEqual([])
    expect(trace!.phases).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    expect(trace!.context).toMatchObject({
      node: 'pg1',
      role: 'primary',
      required: 'all',
      timeoutMillis: 10_000,
      onTimeout: 'error',
      timedOut: false,
    })
    expect(trace!.context.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    expect([...trace!.context.mirrored!].sort()).toEqual(cluster.replicas.map((n) => n.name).sort())
  })

  it('publishes a mirroring wait that timed out as an error with MIRROR_TIMEOUT', async () => {
    const waits = record<ReplayWaitTraceContext>(REPLAY_WAIT_CHANNEL)
    const replica = cluster.replicas[0]!
    await replica.query('select pg_wal_replay_pause()')
    try {
      await expect(
        db.session(() => db.query(`insert into notes (body) values ('paused')`), {
          sync: { replicas: 'all', timeoutMillis: 200 },
        }),
      ).rejects.toBeInstanceOf(MirrorTimeoutError)
    } finally {
      waits.stop()
      await replica.query('select pg_wal_replay_resume()')
    }
    const [trace] = waits.traces()
    expect(trace!.phases).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(trace!.context).toMatchObject({ errorCode: 'MIRROR_TIMEOUT', timedOut: true })
    expect(trace!.context.mirrored).not.toContain(replica.name)
  })
})
