import type { SyncOptions } from '../config/cluster-config.js'
import type { ResolvedSync } from '../config/config-schema.js'
import { CausewayError } from '../errors/causeway-error.js'

/** Fills in the defaults of a per-session `sync` option and checks it, naming the field on error. */
export function resolveSync(sync: SyncOptions): ResolvedSync {
  const replicas = sync.replicas ?? 'all'
  const timeoutMs = sync.timeoutMs ?? 1_000
  const onTimeout = sync.onTimeout ?? 'error'
  const method = sync.method ?? 'client'
  if (replicas !== 'all' && !(Number.isInteger(replicas) && replicas > 0)) {
    throw new CausewayError('CONFIG_INVALID', `session sync.replicas: must be 'all' or a whole number ≥ 1`)
  }
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 0)) {
    throw new CausewayError('CONFIG_INVALID', 'session sync.timeoutMs: must be a whole number ≥ 0')
  }
  if (onTimeout !== 'error' && onTimeout !== 'continue') {
    throw new CausewayError('CONFIG_INVALID', `session sync.onTimeout: must be 'error' or 'continue'`)
  }
  if (method !== 'client') {
    throw new CausewayError('CONFIG_INVALID', `session sync.method: only 'client' can be chosen per session`)
  }
  return { replicas, timeoutMs, onTimeout, method }
}
