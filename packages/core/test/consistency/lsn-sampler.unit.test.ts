import { describe, expect, it } from 'vitest'
import { DEFAULT_WAL_LAYOUT } from '../../src/consistency/lsn.js'
import { LsnSampler } from '../../src/consistency/lsn-sampler.js'

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('LsnSampler', () => {
  it('serves every caller that asked before a query was sent with that one query', async () => {
    const queries: ReturnType<typeof deferred<{ lsn: string; timeline: number; systemId: string }>>[] = []
    const sampler = new LsnSampler(
      () => {
        const next = deferred<{ lsn: string; timeline: number; systemId: string }>()
        queries.push(next)
        return next.promise
      },
      () => DEFAULT_WAL_LAYOUT,
    )
    const first = sampler.sample()
    expect(queries).toHaveLength(1)
    // Asked while the first query is in flight: it may miss these callers' writes.
    const second = sampler.sample()
    const third = sampler.sample()
    expect(queries).toHaveLength(1)
    queries[0]!.resolve({ lsn: '0/100', timeline: 1, systemId: '7' })
    expect(await first).toEqual({ systemId: '7', timeline: 1, lsn: 0x100n })
    await Promise.resolve()
    expect(queries).toHaveLength(2)
    queries[1]!.resolve({ lsn: '0/200', timeline: 1, systemId: '7' })
    expect(await second).toEqual({ systemId: '7', timeline: 1, lsn: 0x200n })
    expect(await third).toBe(await second)
  })

  it('normalises a sample that sits just past a page header', async () => {
    const sampler = new LsnSampler(
      async () => ({ lsn: '0/2018', timeline: 1, systemId: '7' }),
      () => DEFAULT_WAL_LAYOUT,
    )
    expect((await sampler.sample()).lsn).toBe(0x2000n)
  })

  it('lets a failed query fail its callers, and the next caller start afresh', async () => {
    let calls = 0
    const sampler = new LsnSampler(
      async () => {
        calls++
        if (calls === 1) throw new Error('gone')
        return { lsn: '0/300', timeline: 2, systemId: '7' }
      },
      () => DEFAULT_WAL_LAYOUT,
    )
    await expect(sampler.sample()).rejects.toThrow('gone')
    expect((await sampler.sample()).lsn).toBe(0x300n)
  })
})
