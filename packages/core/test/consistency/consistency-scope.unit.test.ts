import { describe, expect, it } from 'vitest'
import { ConsistencyScope, type Recovery, type TokenSource } from '../../src/consistency/consistency-scope.js'
import type { ConsistencyToken } from '../../src/consistency/token.js'

const token = (lsn: bigint, timeline = 1, systemId = '7'): ConsistencyToken => ({ systemId, timeline, lsn })
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
/** Lets every settled promise's callbacks run. */
const flush = () => new Promise((resolve) => setImmediate(resolve))

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A node's token source that answers `lsn`, counting how often it was asked. */
function source(lsn: bigint): TokenSource & { samples: number } {
  return {
    samples: 0,
    sample() {
      this.samples++
      return Promise.resolve(token(lsn))
    },
  }
}

/** Settles every capture in flight, and the bookkeeping that follows them. */
async function settled(scope: ConsistencyScope): Promise<void> {
  await scope.settle()
  await Promise.resolve()
}

describe('ConsistencyScope', () => {
  it('starts with no token, nothing pending and nothing deferred', () => {
    const scope = new ConsistencyScope()
    expect(scope.token).toBeUndefined()
    expect(scope.pending).toBeUndefined()
    expect(scope.deferred).toBe(false)
    expect(scope.primaryOnly).toBe(false)
  })

  it('merges captures into the newest token, whatever order they finish in', async () => {
    const scope = new ConsistencyScope()
    const first = deferred<ConsistencyToken>()
    const second = deferred<ConsistencyToken>()
    void scope.capture(first.promise)
    void scope.capture(second.promise)
    expect(scope.pending).toBeDefined()
    second.resolve(token(200n))
    first.resolve(token(100n))
    await scope.pending
    expect(scope.token).toEqual(token(200n))
    await Promise.resolve()
    expect(scope.pending).toBeUndefined()
  })

  it('lets a later timeline win over a higher LSN, and a token of another system replace the old one', async () => {
    const scope = new ConsistencyScope({ token: token(500n, 1) })
    scope.advance(token(10n, 2))
    expect(scope.token).toEqual(token(10n, 2))
    scope.advance(token(900n, 1))
    expect(scope.token).toEqual(token(10n, 2))
    await scope.capture(Promise.resolve(token(3n, 1, '8')))
    expect(scope.token).toEqual(token(3n, 1, '8'))
  })

  it('with lazy capture, samples nothing until settle(), then once per node however many writes', async () => {
    const scope = new ConsistencyScope()
    const primary = source(300n)
    scope.captureLater(primary)
    scope.captureLater(primary)
    expect(scope.deferred).toBe(true)
    expect(scope.pending).toBeUndefined()
    expect(primary.samples).toBe(0)
    const capture = scope.settle()
    expect(capture).toBeDefined()
    expect(scope.deferred).toBe(false)
    await capture
    expect(primary.samples).toBe(1)
    expect(scope.token).toEqual(token(300n))
    // Nothing deferred any more: a second settle samples nothing.
    await settled(scope)
    expect(primary.samples).toBe(1)
  })

  it('reads from the primary after a failed capture, until a capture asked for later succeeds', async () => {
    const scope = new ConsistencyScope()
    const older = deferred<ConsistencyToken>()
    void scope.capture(older.promise) // asked before the failed one: it cannot cover that write
    void scope.capture(Promise.reject(new Error('capture lost')))
    await flush()
    expect(scope.primaryOnly).toBe(true)
    older.resolve(token(100n))
    await scope.pending
    expect(scope.primaryOnly).toBe(true)
    await scope.capture(Promise.resolve(token(200n)))
    expect(scope.primaryOnly).toBe(false)
    expect(scope.token).toEqual(token(200n))
  })

  it('after a write of unknown outcome, reads from the primary until a later capture covers it', async () => {
    const scope = new ConsistencyScope()
    await scope.capture(Promise.resolve(token(100n)))
    scope.markUncertain()
    expect(scope.primaryOnly).toBe(true)
    await scope.capture(Promise.resolve(token(150n)))
    expect(scope.primaryOnly).toBe(false)
  })

  it('recovers from an uncertain write with its own recovery, rate-limited, once the write can no longer commit', async () => {
    const scope = new ConsistencyScope()
    let answer: ConsistencyToken | undefined
    let recoveries = 0
    let fallbacks = 0
    const recovery: Recovery = async () => {
      recoveries++
      return answer
    }
    const fallback: Recovery = async () => {
      fallbacks++
      return token(999n)
    }
    scope.markUncertain(recovery)
    scope.recover(20, fallback) // the write's session may still run: no token yet
    await sleep(1)
    expect(recoveries).toBe(1)
    expect(scope.primaryOnly).toBe(true)
    scope.recover(20, fallback) // within the interval: not asked again
    await sleep(1)
    expect(recoveries).toBe(1)
    answer = token(400n)
    await sleep(30)
    scope.recover(20, fallback)
    await sleep(1)
    await settled(scope)
    expect(recoveries).toBe(2)
    expect(fallbacks).toBe(0) // the uncertain write's own recovery, not any primary sample
    expect(scope.primaryOnly).toBe(false)
    expect(scope.token).toEqual(token(400n))
  })

  it('recovers from a failed capture with a sample of the primary of the moment', async () => {
    const scope = new ConsistencyScope()
    await scope.capture(Promise.reject(new Error('capture lost')))
    scope.recover(20, async () => token(250n))
    await sleep(1)
    await settled(scope)
    expect(scope.primaryOnly).toBe(false)
    expect(scope.token).toEqual(token(250n))
  })

  it('drops a recovered token when a capture started meanwhile (that capture decides)', async () => {
    const scope = new ConsistencyScope()
    scope.markUncertain()
    const recovered = deferred<ConsistencyToken | undefined>()
    scope.recover(20, () => recovered.promise)
    await scope.capture(Promise.reject(new Error('the next write’s capture failed')))
    recovered.resolve(token(400n))
    await sleep(1)
    expect(scope.token).toBeUndefined()
    expect(scope.primaryOnly).toBe(true)
  })

  describe('with a parent', () => {
    it('passes a session’s tokens and captures to the parent, without starting from the parent’s', async () => {
      const parent = new ConsistencyScope()
      parent.advance(token(100n))
      const child = new ConsistencyScope({ parent, inherit: false })
      expect(child.token).toBeUndefined()
      await child.capture(Promise.resolve(token(200n)))
      expect(parent.token).toEqual(token(200n))
      child.advance(token(300n))
      expect(parent.token).toEqual(token(300n))
    })

    it('defers a lazy capture in the parent too, and one capture in the child covers it for both', async () => {
      const parent = new ConsistencyScope()
      const child = new ConsistencyScope({ parent, inherit: false })
      const primary = source(500n)
      child.captureLater(primary)
      expect(parent.deferred).toBe(true)
      await child.settle()
      expect(primary.samples).toBe(1)
      expect(parent.deferred).toBe(false) // covered by the child's capture
      await settled(parent)
      expect(primary.samples).toBe(1)
      expect(parent.token).toEqual(token(500n))
    })

    it('marks the parent uncertain too, so the code around a session does not read stale', () => {
      const parent = new ConsistencyScope()
      const child = new ConsistencyScope({ parent, inherit: false })
      child.markUncertain()
      expect(parent.primaryOnly).toBe(true)
    })

    it('does not make a fresh session read from the primary for the parent’s uncertain write', () => {
      const parent = new ConsistencyScope()
      parent.markUncertain()
      expect(new ConsistencyScope({ parent, inherit: false }).primaryOnly).toBe(false)
    })

    it('when nested (inherit), starts from everything the parent has: token, captures in flight, deferred writes, uncertainty', async () => {
      const parent = new ConsistencyScope({ token: token(100n) })
      const inFlight = deferred<ConsistencyToken>()
      void parent.capture(inFlight.promise)
      const primary = source(700n)
      parent.captureLater(primary)
      parent.markUncertain()
      const child = new ConsistencyScope({ parent, inherit: true })
      expect(child.token).toEqual(token(100n))
      expect(child.pending).toBeDefined()
      expect(child.deferred).toBe(true)
      expect(child.primaryOnly).toBe(true)
      inFlight.resolve(token(200n))
      await child.settle()
      expect(primary.samples).toBe(1)
      expect(child.token).toEqual(token(700n))
      expect(child.primaryOnly).toBe(false) // its capture came after the uncertain write
    })

    it('when nested, shares both ways: the inner session’s write reaches the outer one', async () => {
      const outer = new ConsistencyScope({ token: token(100n) })
      const inner = new ConsistencyScope({ parent: outer, inherit: true })
      await inner.capture(Promise.resolve(token(150n)))
      expect(outer.token).toEqual(token(150n))
    })

    it('takes the session’s own token over the inherited one when it is newer', () => {
      const parent = new ConsistencyScope({ token: token(100n) })
      const child = new ConsistencyScope({ parent, inherit: true, token: token(120n) })
      expect(child.token).toEqual(token(120n))
    })
  })
})
