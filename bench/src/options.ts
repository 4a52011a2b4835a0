import { parseArgs } from 'node:util'
import type { Plan } from './run/bench-context.js'

/** The command line, parsed. */
export interface BenchOptions {
  readonly quick: boolean
  readonly plan: Plan
  /** Workload keys to run; all when undefined. */
  readonly only: readonly string[] | undefined
  readonly pgpool: boolean
  /** Load Causeway through tsx from its sources, rather than as a bundle without keepNames. */
  readonly source: boolean
}

const USAGE = `usage: pnpm bench [-- options]
  --quick            a fast check: 5 short rounds per workload, 2 failover trials (not 5)
  --repeats N        rounds per workload (default 30; 5 with --quick)
  --seconds S        length of each contender's turn (default 0.3; 0.2 with --quick)
  --only KEY,KEY     run only these workloads (e.g. point-read-c1,overhead-c1); the keys:
                     idle point-read-c1 point-read-c16 mixed-c16 overhead-c1 ryw-think0
                     ryw-think5ms web-c16 write-c1 failover-follow failover-auto
  --no-pgpool        leave pgpool-II out
  --source           run Causeway through tsx from its sources (adds tsx's keepNames cost)`

/** Parses `argv`; `pnpm bench -- --quick` passes a lone `--` through, which is ignored. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      'no-pgpool': { type: 'boolean', default: false },
      source: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const quick = values.quick
  const repeats = positive(values.repeats, 'repeats') ?? (quick ? 5 : 30)
  const seconds = positive(values.seconds, 'seconds') ?? (quick ? 0.2 : 0.3)
  return {
    quick,
    plan: {
      repeats: Math.round(repeats),
      phaseMillis: Math.round(seconds * 1000),
      warmupMillis: quick ? 200 : 1000,
    },
    only: values.only
      ?.split(',')
      .map((key) => key.trim())
      .filter(Boolean),
    pgpool: !values['no-pgpool'],
    source: values.source,
  }
}

function positive(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number\n${USAGE}`)
  return value
}
