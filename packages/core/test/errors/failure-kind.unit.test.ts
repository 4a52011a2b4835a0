import { describe, expect, it } from 'vitest'
import { failureKind } from '../../src/errors/failure-kind.js'

describe('failureKind', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'connection'],
    [{ code: 'ECONNRESET' }, 'connection'],
    [{ code: '08006' }, 'connection'],
    [{ code: '08P01', severity: 'FATAL' }, 'connection'],
    // A NUL byte in the SQL text: the server refuses the message and the session lives on.
    [{ code: '08P01', severity: 'ERROR', message: 'invalid message format' }, 'statement'],
    [{ code: '57P01' }, 'connection'],
    [{ code: '57P03' }, 'connection'],
    [{ code: '53300' }, 'connection'],
    [{ code: '40001', message: 'canceling statement due to conflict with recovery' }, 'connection'],
    [{ code: '40001', message: 'could not serialize access due to concurrent update' }, 'statement'],
    [{ code: '25006' }, 'read-only'],
    [{ code: '23505' }, 'statement'],
    [{ code: '42601' }, 'statement'],
    [new Error('Connection terminated unexpectedly'), 'connection'],
    [new Error('timeout exceeded when trying to connect'), 'connection'],
    [new Error('something else'), 'statement'],
    [null, 'statement'],
  ])('%j is %s', (error, kind) => {
    expect(failureKind(error)).toBe(kind)
  })
})
