import { describe, expect, it } from 'vitest'
import { ReplayWaiter } from '../../src/topology/replay-waiter.js'
import { detachedNode } from '../support/detached-node.js'

const node = detachedNode
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe('ReplayWaiter', () => {
  it('resolves with the first replica seen at or past the position, and raises its cached position', async () => {
    const [a, b] = [node('a'), node('b')]
    const positions = new Map([
      [a, 10n],
      [b, 10n],
    ])
    const waiter = new ReplayWaiter(async (n) => positions.get(n), 1, 0)
    const waiting = waiter.waitForAny([a, b], 20n, 1_000)
    await sleep(5)
    positions.set(b, 25n)
    expect(await waiting).toBe(b)
    expect(b.lsn).toBe(25n)
    waiter.stop()
  })

  it('gives up after the bound', async () => {
    const a = node('a')
    const waiter = new ReplayWaiter(async () => 1n, 1, 0)
    const started = Date.now()
    expect(await waiter.waitForAny([a], 2n, 30)).toBeUndefined()
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
    waiter.stop()
  })

  it('shares one polling loop among waiters, keeps polling while warm, then stops', async () => {
    const a = node('a')
    let checks = 0
    let position = 0n
    const waiter = new ReplayWaiter(
      async () => {
        checks++
        return position
      },
      2,
      60,
    )
    const first = waiter.waitForAny([a], 5n, 1_000)
    const second = waiter.waitForAny([a], 6n, 1_000)
    position = 10n
    expect(await first).toBe(a)
    expect(await second).toBe(a)
    const afterWaits = checks
    await sleep(30)
    expect(checks).toBeGreaterThan(afterWaits) // still warm: the cache stays fresh
    await sleep(100)
    const settled = checks
    await sleep(30)
    expect(checks).toBe(settled) // cold again: no polling without demand
  })

  it('stops checking a node whose check fails', async () => {
    const a = node('a')
    let checks = 0
    const waiter = new ReplayWaiter(
      async () => {
        checks++
        throw new Error('down')
      },
      1,
      0,
    )
    expect(await waiter.waitForAny([a], 1n, 20)).toBeUndefined()
    expect(checks).toBe(1)
  })
})
