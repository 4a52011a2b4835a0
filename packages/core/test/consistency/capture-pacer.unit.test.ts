import { describe, expect, it } from 'vitest'
import { CapturePacer } from '../../src/consistency/capture-pacer.js'
import { ConsistencyScope, type TokenSource } from '../../src/consistency/consistency-scope.js'
import type { ConsistencyToken } from '../../src/consistency/token.js'

/** A token source that counts its samples. */
function source(): TokenSource & { samples: number } {
  const counted = {
    samples: 0,
    sample(): Promise<ConsistencyToken> {
      counted.samples++
      return Promise.resolve({ systemId: '1', timeline: 1, lsn: BigInt(counted.samples) })
    },
  }
  return counted
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe('CapturePacer', () => {
  it('captures every scope that wrote within one gap together, once', async () => {
    const pacer = new CapturePacer(5)
    const primary = source()
    const scopes = [new ConsistencyScope(), new ConsistencyScope(), new ConsistencyScope()]
    for (const scope of scopes) {
      scope.captureLater(primary)
      pacer.schedule(scope)
    }
    expect(scopes.every((scope) => scope.deferred)).toBe(true)
    await sleep(30)
    // One sample per scope's settle, but the scopes were settled in one flush.
    expect(scopes.every((scope) => !scope.deferred && scope.token !== undefined)).toBe(true)
    expect(primary.samples).toBe(3)
    pacer.stop()
  })

  it('stops on close: nothing scheduled is captured, and no timer is left', async () => {
    const pacer = new CapturePacer(5)
    const primary = source()
    const scope = new ConsistencyScope()
    scope.captureLater(primary)
    pacer.schedule(scope)
    pacer.stop()
    pacer.schedule(scope)
    await sleep(20)
    expect(primary.samples).toBe(0)
    expect(scope.deferred).toBe(true)
  })
})
