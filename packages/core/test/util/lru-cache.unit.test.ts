import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LruCache } from '../../src/util/lru-cache.js'

describe('LruCache', () => {
  it('returns what was set, and undefined for a miss', () => {
    const cache = new LruCache<string, number>(3)
    cache.set('a', 1)
    expect(cache.get('a')).toBe(1)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.size).toBe(1)
  })

  it('evicts the least recently set entry when full', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('c', 3)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('b')).toBe(2)
    expect(cache.get('c')).toBe(3)
    expect(cache.size).toBe(2)
  })

  it('counts a get as a use, so a hot entry survives', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.get('a')
    cache.set('c', 3)
    expect(cache.get('a')).toBe(1)
    expect(cache.get('b')).toBeUndefined()
  })

  it('replaces the value of an existing key without growing, and counts it as a use', () => {
    const cache = new LruCache<string, number>(2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('a', 10)
    cache.set('c', 3)
    expect(cache.size).toBe(2)
    expect(cache.get('a')).toBe(10)
    expect(cache.get('b')).toBeUndefined()
  })

  it('keeps exactly one entry when the bound is 1', () => {
    const cache = new LruCache<string, number>(1)
    cache.set('a', 1)
    cache.set('b', 2)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('b')).toBe(2)
    expect(cache.size).toBe(1)
  })

  it('rejects a bound that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new LruCache(bad)).toThrow(RangeError)
    }
  })

  // A reference model: an array ordered from least to most recently used.
  it('behaves like a naive array-based LRU for any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 7 }) }),
      fc.record({
        kind: fc.constant('set' as const),
        key: fc.integer({ min: 0, max: 7 }),
        value: fc.integer(),
      }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const cache = new LruCache<number, number>(max)
        let model: Array<readonly [number, number]> = []
        for (const o of ops) {
          const index = model.findIndex(([key]) => key === o.key)
          if (o.kind === 'get') {
            const entry = model[index]
            expect(cache.get(o.key)).toBe(entry?.[1])
            if (entry !== undefined) model = [...model.filter((_, i) => i !== index), entry]
          } else {
            cache.set(o.key, o.value)
            model = [...model.filter(([key]) => key !== o.key), [o.key, o.value] as const].slice(-max)
          }
          expect(cache.size).toBe(model.length)
        }
      }),
      { numRuns: 500 },
    )
  })
})
