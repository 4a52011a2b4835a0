import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { ProvenPositions } from '../../src/connection/proven-positions.js'

const client = () => ({}) as pg.ClientBase

describe('ProvenPositions', () => {
  it('knows nothing for a connection until a check on it told its server', () => {
    const proofs = new ProvenPositions()
    const a = client()
    expect(proofs.on(a)).toBeUndefined()
    proofs.record(a, 'server-1', 100n)
    expect(proofs.on(a)).toBe(100n)
  })

  it('shares a proof between connections to the same server, once each has learned its server', () => {
    const proofs = new ProvenPositions()
    const a = client()
    const b = client()
    proofs.record(a, 'server-1', 100n)
    // b's server is not known yet: it might be another server behind the same URL.
    expect(proofs.on(b)).toBeUndefined()
    proofs.record(b, 'server-1', 90n)
    expect(proofs.on(b)).toBe(100n)
  })

  it('never lends one server’s proof to a connection that reached another (a balancer)', () => {
    const proofs = new ProvenPositions()
    const fresh = client()
    const paused = client()
    proofs.record(fresh, 'server-1', 500n)
    proofs.record(paused, 'server-2', 10n)
    expect(proofs.on(paused)).toBe(10n)
    expect(proofs.on(fresh)).toBe(500n)
  })

  it('keeps the highest position per server: a lower, older reading does not lower it', () => {
    const proofs = new ProvenPositions()
    const a = client()
    proofs.record(a, 'server-1', 100n)
    proofs.record(a, 'server-1', 40n)
    expect(proofs.on(a)).toBe(100n)
  })

  it('a restarted server is a new server: its start time changed', () => {
    const proofs = new ProvenPositions()
    const before = client()
    const after = client()
    proofs.record(before, 'started-at-1', 100n)
    proofs.record(after, 'started-at-2', 20n)
    expect(proofs.on(after)).toBe(20n)
  })

  it('learns no server from a check that did not say which', () => {
    const proofs = new ProvenPositions()
    const a = client()
    proofs.record(a, undefined, 100n)
    expect(proofs.on(a)).toBeUndefined()
  })
})
