import { describe, expect, it } from 'vitest'
import { CausewayError } from '../../src/errors/causeway-error.js'
import { failureKind } from '../../src/errors/failure-kind.js'
import { functionRefusedError, refusedFunction } from '../../src/errors/refused-function.js'

// The server's own texts: PostgreSQL 18 for 42501 and 42883; Aurora's for 0A000.
const denied = { code: '42501', message: 'permission denied for function pg_last_wal_replay_lsn' }
const deniedView = { code: '42501', message: 'permission denied for view pg_stat_wal_receiver' }
const missing = { code: '42883', message: 'function pg_current_wal_insert_lsn() does not exist' }
const unsupported = {
  code: '0A000',
  message: 'Function pg_last_wal_replay_lsn() is currently not supported for Aurora',
}

describe('refusedFunction', () => {
  it.each([
    [denied, { sqlState: '42501', name: 'pg_last_wal_replay_lsn' }],
    [deniedView, { sqlState: '42501', name: 'pg_stat_wal_receiver' }],
    [missing, { sqlState: '42883', name: 'pg_current_wal_insert_lsn' }],
    [unsupported, { sqlState: '0A000', name: 'pg_last_wal_replay_lsn' }],
    // Refused, but the server named nothing Causeway knows.
    [
      { code: '42883', message: 'operator does not exist: pg_lsn - text' },
      { sqlState: '42883', name: undefined },
    ],
  ])('%j is refused', (error, refused) => {
    expect(refusedFunction(error)).toEqual(refused)
  })

  it.each([
    [{ code: '55000', message: 'recovery is in progress' }],
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }],
    [new Error('Connection terminated unexpectedly')],
    [null],
  ])('%j is not a refusal', (error) => {
    expect(refusedFunction(error)).toBeUndefined()
  })

  it('is a statement failure, not a connection one: the node is not "tried elsewhere" for it', () => {
    for (const error of [denied, missing, unsupported]) expect(failureKind(error)).toBe('statement')
    expect(failureKind(functionRefusedError(denied, 'db2'))).toBe('statement')
  })
})

describe('functionRefusedError', () => {
  it('names the node, the function, what is lost and the grant that fixes a missing privilege', () => {
    const error = functionRefusedError(denied, 'db2')
    expect(error).toBeInstanceOf(CausewayError)
    expect(error).toMatchObject({ code: 'FUNCTION_REFUSED', node: 'db2', sqlState: '42501', cause: denied })
    expect(error.message).toContain('db2 refuses pg_last_wal_replay_lsn()')
    expect(error.message).toContain('never routes reads to it there')
    expect(error.message).toContain('Grant pg_monitor to the role Causeway connects as')
    expect(error.message).toContain('grant execute on function pg_catalog.pg_last_wal_replay_lsn()')
  })

  it('grants select on a refused view', () => {
    expect(functionRefusedError(deniedView, 'db2').message).toContain(
      'grant select on pg_catalog.pg_stat_wal_receiver',
    )
  })

  it('tells a service that lacks the function to use the server as the primary only', () => {
    for (const error of [missing, unsupported]) {
      const message = functionRefusedError(error, 'aurora').message
      expect(message).toContain('does not provide')
      expect(message).toContain('configure it as the primary only')
      expect(message).not.toContain('pg_monitor')
    }
    expect(functionRefusedError(missing, 'aurora').message).toContain('no read-your-writes tokens')
  })

  it('never echoes credentials from the server text', () => {
    const error = functionRefusedError(
      {
        code: '42501',
        message: 'permission denied for function pg_walfile_name (postgres://app:s3cret@db1/app)',
      },
      'db1',
    )
    expect(error.message).not.toContain('s3cret')
  })
})
