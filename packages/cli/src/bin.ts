#!/usr/bin/env node
// The `causeway` command. Everything but the process wiring is in run.ts.
import { run } from './run.js'

const stop = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first signal ends the command cleanly (watch closes its cluster and exits
    // 0); a second one, if closing hangs, exits at once, as 128 + the signal number.
    if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143)
    stop.abort()
  })
}

process.exitCode = await run(process.argv.slice(2), { env: process.env, streams: process, stop: stop.signal })
