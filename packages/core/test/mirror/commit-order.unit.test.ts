import { describe, expect, it } from 'vitest'
import { CommitOrder } from '../../src/mirror/commit-order.js'

describe('CommitOrder', () => {
  it('releases a lone write at once', () => {
    const order = new CommitOrder<string>()
    const a = order.start()
    expect(order.acknowledged(a, 100n, 'a')).toEqual(['a'])
    expect(order.held).toBe(0)
  })

  it('holds a write acknowledged first until the write sent before it ends, then releases both by position', () => {
    // A's COMMIT reply is late: B (which waited for A's lock) is acknowledged first.
    const order = new CommitOrder<string>()
    const a = order.start()
    const b = order.start()
    expect(order.acknowledged(b, 200n, 'b')).toEqual([])
    expect(order.held).toBe(1)
    expect(order.acknowledged(a, 100n, 'a')).toEqual(['a', 'b'])
  })

  it('does not wait for a write sent after the acknowledgement', () => {
    const order = new CommitOrder<string>()
    const a = order.start()
    expect(order.acknowledged(a, 100n, 'a')).toEqual(['a'])
    order.start() // sent after A's acknowledgement: its position is larger
    const c = order.start()
    expect(order.acknowledged(c, 300n, 'c')).toEqual([])
  })

  it('releases what a failed write held back', () => {
    const order = new CommitOrder<string>()
    const a = order.start()
    const b = order.start()
    expect(order.acknowledged(b, 200n, 'b')).toEqual([])
    expect(order.ended(a)).toEqual(['b'])
  })

  it('keeps position order across releases: a held smaller position is not overtaken', () => {
    const order = new CommitOrder<string>()
    const x = order.start()
    const e3 = order.start()
    const e1 = order.start()
    // E3 is acknowledged while X is in flight; E1 after E3, with a larger position.
    expect(order.acknowledged(e3, 150n, 'e3')).toEqual([])
    expect(order.acknowledged(e1, 200n, 'e1')).toEqual([])
    expect(order.acknowledged(x, 100n, 'x')).toEqual(['x', 'e3', 'e1'])
  })

  it('puts a write without a position after every position seen, and ties in acknowledgement order', () => {
    const order = new CommitOrder<string>()
    const hold = order.start()
    const a = order.start()
    const b = order.start()
    const c = order.start()
    order.acknowledged(a, 500n, 'a')
    order.acknowledged(b, undefined, 'b')
    order.acknowledged(c, 500n, 'c')
    expect(order.ended(hold)).toEqual(['a', 'b', 'c'])
  })

  it('drains held writes at close', () => {
    const order = new CommitOrder<string>()
    order.start()
    const b = order.start()
    order.acknowledged(b, 1n, 'b')
    expect(order.drain()).toEqual(['b'])
    expect(order.held).toBe(0)
  })
})
