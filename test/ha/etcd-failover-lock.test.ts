import { inspect } from 'node:util'
import { EtcdFailoverLock } from '@causeway/etcd'
import { etcdAvailable, startEtcdServer, type TestEtcd } from '@causeway/testing'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppProcess } from '../support/app-process.js'
import { titled } from '../support/proxies.js'
import { eventually, sleep } from '../support/wait.js'

// The cross-process lock of `failover: 'auto'` against a real etcd (Debian's etcd-server).
const etcdHere = etcdAvailable()
const TTL_SECONDS = 3

describe.skipIf(!etcdHere.ok)(titled('EtcdFailoverLock on a real etcd', etcdHere), () => {
  let etcd: TestEtcd
  const locks: EtcdFailoverLock[] = []
  const processes: AppProcess[] = []
  let keys = 0
  /** Two locks on a fresh key, as two processes would hold them. */
  const pair = (): [EtcdFailoverLock, EtcdFailoverLock] => {
    const key = `causeway/test-lock-${keys++}`
    const made = [0, 1].map(() => new EtcdFailoverLock({ hosts: etcd.url, key, ttlSeconds: TTL_SECONDS }))
    locks.push(...made)
    return made as [EtcdFailoverLock, EtcdFailoverLock]
  }

  beforeAll(async () => {
    etcd = await startEtcdServer()
  })
  afterAll(async () => {
    await Promise.allSettled(processes.map((p) => p.kill()))
    await Promise.allSettled(locks.map((lock) => lock.close()))
    await etcd?.close()
  })

  it('is exclusive, and acquirable again once released', async () => {
    const [a, b] = pair()
    const release = await a.acquire()
    expect(release).toBeTypeOf('function')
    expect(a.held()).toBe(true)
    // Non-blocking: the other holder is told at once.
    expect(await b.acquire()).toBeUndefined()
    expect(b.held()).toBe(false)
    await release!()
    expect(a.held()).toBe(false)
    const again = await b.acquire()
    expect(again).toBeTypeOf('function')
    expect(await a.acquire()).toBeUndefined()
    await again!()
  })

  it('stays held across several TTLs while its holder runs (the lease is renewed)', async () => {
    const [a, b] = pair()
    const release = await a.acquire()
    await sleep(TTL_SECONDS * 1_000 * 2)
    expect(a.held()).toBe(true)
    expect(await b.acquire()).toBeUndefined()
    await release!()
  })

  it('is held() no longer once its lease is gone from etcd, so AutoFailover would promote nothing', async () => {
    const [a] = pair()
    const release = await a.acquire()
    expect(a.held()).toBe(true)
    // Another client revokes the lease behind the key, as etcd does when it expires.
    const admin = new Etcd3({ hosts: etcd.url })
    try {
      const [kv] = (await admin.get(a.key).exec()).kvs
      await admin.leaseClient.leaseRevoke({ ID: kv!.lease })
    } finally {
      admin.close()
    }
    await eventually(() => !a.held(), 'held() to turn false', TTL_SECONDS * 2_000)
    await release!()
  })

  it('passes to another process after the TTL once its holder process is SIGKILLed, not before', async () => {
    const [, b] = pair()
    const holder = new AppProcess('hold-etcd-lock.ts', {
      ETCD_URL: etcd.url,
      LOCK_KEY: b.key,
      TTL_SECONDS: String(TTL_SECONDS),
    })
    processes.push(holder)
    const line = await holder.waitForLine((l) => 'acquired' in l, 'the holder to take the lock')
    expect(line).toEqual({ acquired: true, held: true })
    expect(await b.acquire()).toBeUndefined()
    await holder.kill()
    const killedAt = Date.now()
    // Right after the kill the lease still runs: the key is not free.
    expect(await b.acquire()).toBeUndefined()
    let release: (() => Promise<void>) | undefined
    while (!release && Date.now() - killedAt < TTL_SECONDS * 3_000) {
      release = await b.acquire()
      if (!release) await sleep(50)
    }
    const after = Date.now() - killedAt
    console.log(`lock taken ${after} ms after its holder was SIGKILLed (ttl ${TTL_SECONDS} s)`)
    expect(release).toBeTypeOf('function')
    // The holder renewed at most a third of the TTL before the kill: the lease ran
    // at least two thirds of it afterwards (less a little for the clocks).
    expect(after).toBeGreaterThanOrEqual((TTL_SECONDS * 1_000 * 2) / 3 - 200)
    await release!()
  })

  it('never shows the etcd password', () => {
    const lock = new EtcdFailoverLock({
      hosts: etcd.url,
      auth: { username: 'app', password: 's3cret-pw' },
    })
    locks.push(lock)
    expect(inspect(lock, { depth: 10, showHidden: true })).not.toContain('s3cret-pw')
    expect(JSON.stringify(lock)).not.toContain('s3cret-pw')
  })

  it('leaves nothing behind after close(): its process exits by itself', async () => {
    const [a] = pair()
    const holder = new AppProcess('hold-etcd-lock.ts', {
      ETCD_URL: etcd.url,
      LOCK_KEY: a.key,
      TTL_SECONDS: String(TTL_SECONDS),
    })
    processes.push(holder)
    await holder.waitForLine((l) => 'acquired' in l, 'the holder to take the lock')
    // It releases and closes on "stop", then has nothing left to wait for.
    expect(await holder.stop(10_000)).toBe(0)
    // Released by revoking the lease: free at once, not after the TTL.
    const release = await a.acquire()
    expect(release).toBeTypeOf('function')
    await release!()
  })
})
