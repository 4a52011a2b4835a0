import { describe, expect, it } from 'vitest'
import type { ResolvedSync } from '../../src/config/config-schema.js'
import { ScopeContext } from '../../src/consistency/scope-context.js'
import type { ConsistencyToken } from '../../src/consistency/token.js'

const token = (lsn: bigint): ConsistencyToken => ({ systemId: '7', timeline: 1, lsn })
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
const sync: ResolvedSync = { replicas: 1, timeoutMillis: 100, onTimeout: 'error', method: 'client' }

describe('ScopeContext', () => {
  describe("outside any session, with the process scope ('process')", () => {
    it('gives every caller the one process scope, as one context object', () => {
      const context = new ScopeContext(true)
      const first = context.current()
      expect(first.scope).toBeDefined()
      expect(first.onPrimary).toBe(false)
      expect(context.current()).toBe(first) // allocates nothing on the read path
    })

    it('gives separate contexts separate process scopes', () => {
      expect(new ScopeContext(true).current().scope).not.toBe(new ScopeContext(true).current().scope)
    })
  })

  describe("outside any session, without a process scope ('session')", () => {
    it('gives no scope at all', () => {
      const context = new ScopeContext(false)
      expect(context.current().scope).toBeUndefined()
      expect(context.current().onPrimary).toBe(false)
    })
  })

  it('gives a session its own scope, kept across awaits and timers, and none once it ends', async () => {
    const context = new ScopeContext(false)
    const seen = await context.session(async () => {
      const scope = context.current().scope
      await sleep(1)
      expect(context.current().scope).toBe(scope)
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          expect(context.current().scope).toBe(scope)
          resolve()
        }, 1),
      )
      return scope
    })
    expect(seen).toBeDefined()
    expect(context.current().scope).toBeUndefined()
  })

  it('keeps concurrent sessions apart', async () => {
    const context = new ScopeContext(false)
    const run = (lsn: bigint) =>
      context.session(async () => {
        await sleep(1)
        context.current().scope!.advance(token(lsn))
        await sleep(2)
        return context.current().scope!.token
      })
    const [a, b] = await Promise.all([run(10n), run(20n)])
    expect(a).toEqual(token(10n))
    expect(b).toEqual(token(20n))
  })

  it('starts a session from its handed-over token and its own sync setting', () => {
    const context = new ScopeContext(true)
    context.session(
      () => {
        const scope = context.current().scope!
        expect(scope.token).toEqual(token(42n))
        expect(scope.sync).toBe(sync)
        expect(scope.syncOff).toBe(false)
      },
      { token: token(42n), sync },
    )
    context.session(() => expect(context.current().scope!.syncOff).toBe(true), { sync: false })
  })

  describe('nesting', () => {
    it('does not start a top-level session from the process scope’s token, but passes its writes to it', async () => {
      const context = new ScopeContext(true)
      const processScope = context.current().scope!
      processScope.advance(token(100n))
      await context.session(async () => {
        const scope = context.current().scope!
        expect(scope).not.toBe(processScope)
        expect(scope.token).toBeUndefined() // or every request would wait for every other's writes
        await scope.capture(Promise.resolve(token(200n)))
      })
      expect(processScope.token).toEqual(token(200n))
    })

    it('shares both ways between a session and a session nested in it', async () => {
      for (const processScope of [true, false]) {
        const context = new ScopeContext(processScope)
        await context.session(async () => {
          const outer = context.current().scope!
          outer.advance(token(100n))
          await context.session(async () => {
            const inner = context.current().scope!
            expect(inner).not.toBe(outer)
            expect(inner.token).toEqual(token(100n))
            inner.advance(token(300n))
          })
          expect(outer.token).toEqual(token(300n))
        })
      }
    })

    it('gives a top-level session no parent without a process scope', async () => {
      const context = new ScopeContext(false)
      await context.session(async () => {
        context.current().scope!.advance(token(5n))
      })
      await context.session(async () => expect(context.current().scope!.token).toBeUndefined())
    })
  })

  describe('onPrimary()', () => {
    it('sends everything to the primary in the current scope, and only inside', async () => {
      const context = new ScopeContext(true)
      const processScope = context.current().scope
      await context.onPrimary(async () => {
        await sleep(1)
        expect(context.current()).toEqual({ scope: processScope, onPrimary: true })
      })
      expect(context.current().onPrimary).toBe(false)
      await context.session(async () => {
        const scope = context.current().scope
        await context.onPrimary(async () => {
          await sleep(1)
          expect(context.current()).toEqual({ scope, onPrimary: true })
        })
      })
    })

    it('carries on into a session started inside it', async () => {
      const context = new ScopeContext(false)
      await context.onPrimary(() =>
        context.session(async () => {
          await sleep(1)
          expect(context.current().onPrimary).toBe(true)
          expect(context.current().scope).toBeDefined()
        }),
      )
    })
  })
})
