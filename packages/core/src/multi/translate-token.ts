import type { ConsistencyToken } from '../consistency/token.js'
import type { LinkMonitor } from './link-monitor.js'
import type { CrossGroupFallbackReason } from './multi-events.js'

/** A translation: the position in the reading group that holds the write, or why there is none. */
export type Translation =
  | { readonly ok: true; readonly token: ConsistencyToken | undefined }
  | { readonly ok: false; readonly reason: CrossGroupFallbackReason }

/**
 * Turns a write's position in group `from` into a position in group `to` that a
 * read there must see: once `to`'s primary has applied `from` up to the token
 * (`latest_end_lsn` ≥ token), the origin's `local_lsn` read after it is where
 * the last of those changes committed in `to`. `to`'s own read planner then
 * proves a replica has it in the read's flight, or reads on `to`'s primary.
 *
 * Waits (re-asking `to`'s primary) until `deadline`, never past it. A token that
 * names another system or timeline than `from` runs now is not translated: the
 * read goes back to `from`, whose cluster judges it as today.
 *
 * `{ ok: true, token: undefined }`: nothing from `from` was ever applied in `to`,
 * and the link is past the token, so `to` needs nothing for it.
 */
export async function translateToken(
  monitor: LinkMonitor,
  from: string,
  to: string,
  token: ConsistencyToken,
  deadline: number,
): Promise<Translation> {
  if (!monitor.link(from, to)) return { ok: false, reason: 'no-link' }
  let asked = false
  for (;;) {
    const origin = monitor.identity(from)
    if (asked && (!origin || origin.systemId !== token.systemId || origin.timeline !== token.timeline)) {
      return { ok: false, reason: 'unverified' }
    }
    const health = monitor.health(from, to)
    if (health !== 'ok') return { ok: false, reason: health }
    const sample = monitor.sample(from, to)
    if (
      origin &&
      origin.systemId === token.systemId &&
      origin.timeline === token.timeline &&
      sample &&
      sample.applied >= token.lsn
    ) {
      return {
        ok: true,
        token:
          sample.local === undefined
            ? undefined
            : { systemId: sample.systemId, timeline: sample.timeline, lsn: sample.local },
      }
    }
    if (asked && Date.now() >= deadline) return { ok: false, reason: 'timeout' }
    await Promise.all([monitor.refresh(to), origin ? undefined : monitor.refresh(from)])
    asked = true
  }
}
