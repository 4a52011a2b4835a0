import { CausewayError } from '../errors/causeway-error.js'
import type { SyncOptions } from './cluster-config.js'
import { type ResolvedSync, syncSchema } from './config-schema.js'
import { describeIssues } from './resolve-config.js'

/**
 * Checks a per-session `sync` option and fills in its defaults, by the same schema
 * as the config's (so the same defaults), naming the field on error. Only client
 * mirroring can be chosen per session: server mirroring is a connection setting.
 */
export function resolveSync(sync: SyncOptions): ResolvedSync {
  const result = syncSchema.safeParse(sync)
  if (!result.success) {
    throw new CausewayError(
      'CONFIG_INVALID',
      `invalid session option:\n${describeIssues(sync, result.error.issues, ['sync'])}`,
    )
  }
  if (result.data.method !== 'client') {
    throw new CausewayError(
      'CONFIG_INVALID',
      `invalid session option:\n  sync.method: only 'client' can be chosen per session`,
    )
  }
  return result.data
}
