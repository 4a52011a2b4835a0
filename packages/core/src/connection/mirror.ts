import type { ResolvedSync } from '../config/config-schema.js'
import { formatLsn } from '../consistency/lsn.js'
import type { ConsistencyToken } from '../consistency/token.js'
import { MirrorTimeoutError } from '../errors/causeway-error.js'
import type { EventHub } from '../events/event-hub.js'
import type { DbNode } from '../topology/db-node.js'
import type { ReplayWaiter } from '../topology/replay-waiter.js'

/**
 * Client-side synchronous mirroring: after a write commits on the primary, waits
 * until `sync.replicas` replicas have replayed its token, within `sync.timeoutMillis`.
 * Works on any asynchronous cluster. `'all'` means every replica that is routable
 * now: a replica already down or fenced is not waited for (it serves no reads, and
 * tokens protect reads from it when it returns), but a healthy replica that is
 * lagging or paused is, and makes the wait time out.
 *
 * A timeout never means the write failed: it committed on the primary.
 */
export async function mirror(
  token: ConsistencyToken,
  replicas: readonly DbNode[],
  sync: ResolvedSync,
  waiter: ReplayWaiter,
  events: EventHub,
): Promise<{ mirrored: string[]; required: number; timedOut: boolean }> {
  const targets = replicas.filter((node) => node.role === 'replica' && node.routable)
  const required = sync.replicas === 'all' ? targets.length : sync.replicas
  const mirrored: string[] = []
  if (required > 0 && targets.length >= required) {
    // Waits still running once enough replicas have it (or all have answered) are
    // called off, so that none holds a timer after the write returned.
    const done = new AbortController()
    await new Promise<void>((resolve) => {
      let pending = targets.length
      for (const node of targets) {
        const ready = node.hasReplayed(token)
          ? Promise.resolve(node)
          : waiter.waitForAny([node], token.lsn, sync.timeoutMillis, done.signal)
        void ready.then((caughtUp) => {
          if (caughtUp) mirrored.push(node.name)
          pending--
          if (mirrored.length >= required || pending === 0) resolve()
        })
      }
    })
    done.abort()
  } else {
    // Fewer routable replicas than required: the wait cannot succeed. Only those
    // already known to have the write count.
    for (const node of targets) if (node.hasReplayed(token)) mirrored.push(node.name)
  }
  const timedOut = mirrored.length < required
  if (timedOut) {
    const lsn = formatLsn(token.lsn)
    events.emit('mirror-timeout', { lsn, mirrored: [...mirrored], required })
    if (sync.onTimeout === 'error') {
      throw new MirrorTimeoutError(
        `the write committed on the primary (LSN ${lsn}) but is not yet mirrored: ${mirrored.length} of ${required} ` +
          `replicas applied it within ${sync.timeoutMillis} ms${mirrored.length ? ` (${mirrored.join(', ')})` : ''}`,
        mirrored,
        required,
      )
    }
  }
  return { mirrored, required, timedOut }
}
