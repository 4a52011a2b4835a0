import type { EventHub } from '../events/event-hub.js'
import { describeStatement } from '../events/event-hub.js'
import { redact } from '../util/redact.js'
import type { ApplyFailure } from './apply-transaction.js'

/**
 * - `in-sync`: the mirror applies writes as they come;
 * - `catching-up`: it was unreachable (or rolled a replay back) and its backlog is
 *   being retried, in order;
 * - `out-of-sync`: it stopped applying (backlog overflow, or a write the mirror
 *   rejected): its data is no longer the primary's, and it needs a fresh copy.
 */
export type MirrorState = 'in-sync' | 'catching-up' | 'out-of-sync'

/**
 * One mirror's state and counters, and the events of its transitions. Shared by the
 * in-memory replay queue and the durable relay.
 */
export class MirrorHealth {
  state: MirrorState = 'in-sync'
  applied = 0
  /** Replays that did not apply (each retry counts). */
  failed = 0
  /** Statements that will never be applied: dropped at overflow or after out-of-sync. */
  notApplied = 0
  nondeterministic = 0
  lastError: string | undefined
  #outageSince: number | undefined

  constructor(
    readonly mirror: string,
    readonly events: EventHub,
  ) {}

  /** A replay that failed but can be tried again. */
  retrying(failure: ApplyFailure | Error): void {
    this.failed++
    this.lastError = redact(failure.message)
    if (this.state === 'in-sync') {
      this.state = 'catching-up'
      this.#outageSince = Date.now()
    }
  }

  /** The backlog is empty again after an outage. */
  caughtUp(): void {
    if (this.state !== 'catching-up') return
    this.state = 'in-sync'
    const outageMillis = Date.now() - (this.#outageSince ?? Date.now())
    this.#outageSince = undefined
    this.events.emit('mirror-caught-up', { mirror: this.mirror, applied: this.applied, outageMillis })
  }

  /** The mirror did something else than the primary: emits `mirror-divergence`, then goes out of sync. */
  diverged(failure: ApplyFailure, notApplied: number): void {
    this.failed++
    const statement = failure.statement ? describeStatement(failure.statement.sql) : 'COMMIT'
    if (failure.kind === 'divergence') {
      const cause = failure.detail.cause
      this.events.emit('mirror-divergence', {
        mirror: this.mirror,
        statement,
        ...(cause !== undefined
          ? { error: redact(String((cause as Error).message)) }
          : { primaryRows: failure.statement?.rows ?? 0, mirrorRows: failure.detail.mirrorRows ?? 0 }),
      })
    }
    const what =
      failure.kind === 'commit-unknown'
        ? `the connection was lost during a replayed COMMIT (${failure.message}): it may or may not have applied`
        : failure.detail.cause !== undefined
          ? `the mirror rejected "${statement}", which the primary committed: ${failure.message}`
          : `"${statement}" changed ${failure.detail.mirrorRows} rows on the mirror, ${failure.statement?.rows} on the primary`
    this.outOfSync(failure.kind === 'commit-unknown' ? 'commit-unknown' : 'divergence', what, notApplied)
  }

  /** Stops the mirror: `notApplied` statements will not be applied. */
  outOfSync(
    reason: 'backlog-full' | 'divergence' | 'commit-unknown',
    error: string,
    notApplied: number,
  ): void {
    this.notApplied += notApplied
    this.lastError = redact(error)
    if (this.state === 'out-of-sync') return
    this.state = 'out-of-sync'
    this.events.emit('mirror-out-of-sync', {
      mirror: this.mirror,
      reason,
      error: this.lastError,
      notApplied: this.notApplied,
    })
  }
}
