import { setTimeout as sleep } from 'node:timers/promises'
import { HarnessError } from './harness-error.js'

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** What is awaited, for the error message: "replica r1 to stream". */
  readonly what: string
  readonly timeoutMillis: number
  readonly intervalMillis?: number
  /** Called on timeout to add a server's log tail to the error. */
  readonly logTail?: () => string
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false`, or fails
 * with a {@link HarnessError} after `timeoutMillis`. Every wait in the harness is
 * bounded: a test must fail with a reason, never hang. `check` may throw to abort.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMillis
  const interval = options.intervalMillis ?? 20
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      if (error instanceof HarnessError) throw error
      lastError = error
    }
    if (Date.now() >= deadline) {
      throw new HarnessError(`timed out after ${options.timeoutMillis} ms waiting for ${options.what}`, {
        cause: lastError,
        logTail: options.logTail?.(),
      })
    }
    await sleep(interval)
  }
}
