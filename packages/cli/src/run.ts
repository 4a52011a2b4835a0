import type { Command } from './args/command.js'
import { parseCommand } from './args/parse-command.js'
import { CliError } from './cli-error.js'
import { mirrorCheckCommand } from './commands/mirror-check-command.js'
import { routeCommand } from './commands/route-command.js'
import { statusCommand } from './commands/status-command.js'
import { watchCommand } from './commands/watch-command.js'
import { EXIT, type ExitCode } from './exit-codes.js'
import { Redactor } from './output/redactor.js'
import { type Streams, Terminal } from './output/terminal.js'
import { usage } from './usage.js'

/** What {@link run} needs from its process, passed in so that it can run inside a test. */
export interface RunOptions {
  readonly env: NodeJS.ProcessEnv
  readonly streams: Streams
  /** Aborted to end `watch` (the `causeway` binary aborts it on SIGINT and SIGTERM). */
  readonly stop: AbortSignal
}

/**
 * Runs one `causeway` command line and resolves to its exit code (see `EXIT`).
 * Never throws: failures are printed to stderr, without credentials, as
 * `causeway: <message>`.
 *
 * @example
 * process.exitCode = await run(process.argv.slice(2), { env: process.env, streams: process, stop })
 */
export async function run(argv: readonly string[], options: RunOptions): Promise<ExitCode> {
  // Every argument and environment URL counts as a possible secret, before parsing:
  // even a usage error must not print a password.
  const terminal = new Terminal(
    options.streams,
    new Redactor([...argv.flatMap(flagValues), ...envUrls(options.env)]),
  )
  let command: Command
  try {
    command = parseCommand(argv, options.env)
  } catch (error) {
    return fail(terminal, error)
  }
  try {
    switch (command.kind) {
      case 'help':
        terminal.out(usage(command.topic))
        return EXIT.ok
      case 'status':
        return await statusCommand(command, terminal)
      case 'watch':
        return await watchCommand(command, terminal, options.stop)
      case 'route':
        return await routeCommand(command, terminal)
      case 'mirror-check':
        return await mirrorCheckCommand(command, terminal)
    }
  } catch (error) {
    return fail(terminal, error)
  }
}

function fail(terminal: Terminal, error: unknown): ExitCode {
  const exitCode = error instanceof CliError ? error.exitCode : EXIT.failure
  const message = error instanceof Error ? error.message : String(error)
  terminal.err(`causeway: ${message.replace(/\s+$/, '')}\n`)
  if (exitCode === EXIT.usage) terminal.err(`Run 'causeway --help' for usage.\n`)
  return exitCode
}

/** An argument, and for `--mirror=postgres://…` also the URL after its flag. */
function flagValues(arg: string): string[] {
  const equals = arg.indexOf('=')
  return arg.startsWith('--') && equals > 0 ? [arg, arg.slice(equals + 1)] : [arg]
}

function envUrls(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name]) => name.startsWith('CAUSEWAY_'))
    .map(([, value]) => value ?? '')
}
