/**
 * Every failure of the cluster harness: a missing binary, a port in use, a server
 * that will not start or a wait that ran out. When a server's log explains the
 * failure, its last lines are part of the message.
 */
export class HarnessError extends Error {
  override readonly name = 'HarnessError'
  /** The last lines of the server log that belongs to the failure, if any. */
  readonly logTail: string | undefined

  constructor(message: string, options: { cause?: unknown; logTail?: string } = {}) {
    const tail = options.logTail?.trim()
    super(tail ? `${message}\n--- server log (last lines) ---\n${tail}` : message, { cause: options.cause })
    this.logTail = tail
  }
}
