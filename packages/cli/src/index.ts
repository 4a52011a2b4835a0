/**
 * `causeway`, the command line, as functions: {@link run} is the whole CLI; the
 * parser and renderers are exported for tools that print the same views.
 */
export type { Command, CommandName, MirrorTarget, Targets } from './args/command.js'
export { ENV_PRIMARY_URL, ENV_REPLICA_URLS, splitUrls } from './args/env-urls.js'
export { DEFAULT_INTERVAL_MILLIS, MIN_INTERVAL_MILLIS, parseCommand } from './args/parse-command.js'
export { CliError } from './cli-error.js'
export { EXIT, type ExitCode } from './exit-codes.js'
export type { Streams } from './output/terminal.js'
export {
  type MirrorCheckReport,
  mirrorCheckReport,
  renderMirrorCheck,
} from './render/mirror-comparison.js'
export { answerRoute, type RouteAnswer, renderRouteAnswer } from './render/route-answer.js'
export { sparkline } from './render/sparkline.js'
export { renderStatus, type StatusExtras } from './render/status-table.js'
export { type RunOptions, run } from './run.js'
export { usage } from './usage.js'
