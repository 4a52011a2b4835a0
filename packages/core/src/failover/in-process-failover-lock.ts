import type { FailoverLock } from '../model/failover-lock.js'

/**
 * The default lock: exclusive within this process only. Safe when one process runs
 * `auto` failover (a single app instance, or a dedicated sidecar); not across processes.
 */
export class InProcessFailoverLock implements FailoverLock {
  #held = false

  async acquire(): Promise<(() => Promise<void>) | undefined> {
    if (this.#held) return undefined
    this.#held = true
    return async () => {
      this.#held = false
    }
  }
}
