import { EXIT, type ExitCode } from './exit-codes.js'

/**
 * A failure the CLI reports in one line and turns into its exit code. Its message
 * goes through the redactor before it is printed, like every other line.
 */
export class CliError extends Error {
  override readonly name: string = 'CliError'
  readonly exitCode: ExitCode

  constructor(exitCode: ExitCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.exitCode = exitCode
  }
}

/** A bad command line: exit code 2, and the usage text follows the message. */
export function usageError(message: string): CliError {
  return new CliError(EXIT.usage, message)
}
