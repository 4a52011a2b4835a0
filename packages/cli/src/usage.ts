import type { CommandName } from './args/command.js'
import { ENV_PRIMARY_URL, ENV_REPLICA_URLS } from './args/env-urls.js'
import { DEFAULT_INTERVAL_MILLIS } from './args/parse-command.js'

const URLS = `URLs not given come from ${ENV_PRIMARY_URL} and ${ENV_REPLICA_URLS} (comma-separated).
Passwords in URLs are never printed.`

const EXIT_CODES = `Exit codes: 0 done, 1 primary (or mirror) unreachable or another failure, 2 usage error,
3 mirror-check found a table that differs.`

const TOPICS: Readonly<Record<CommandName, string>> = {
  status: `causeway status <primary-url> [--replica <url>]... [--json]

Probes every node once and prints a table: role, state, timeline, LSN, upstream
and replication lag of each node. --json prints the whole status object instead.
Exits 1 when the primary cannot be reached.`,
  watch: `causeway watch <primary-url> [--replica <url>]... [--interval <ms>]

A live view of the status table, redrawn in place every --interval milliseconds
(default ${DEFAULT_INTERVAL_MILLIS}), with each replica's lag over time as a sparkline.
When standard output is not a terminal, each view is printed after the last.
Ctrl-C (SIGINT) or SIGTERM stops it and closes every connection; it exits 0.`,
  route: `causeway route "<sql>" [<primary-url> [--replica <url>]...] [--json]

Where a statement would go and why: its intent (read, write, unknown) and the
reason, by PostgreSQL's own parser. Without URLs it answers from the classifier
alone; with them it also names the node(s), as the cluster stands now.`,
  'mirror-check': `causeway mirror-check <primary-url> [--replica <url>]... --mirror <postgres-url> [--tables a,b] [--json]

Compares a statement mirror (e.g. the target of a migration) with the primary,
table by table: row counts and an md5 of the ordered rows. Without --tables,
every table of the primary outside the system schemas. Compare with writes
paused and the mirror caught up. Exits 0 when every table is equal, 3 when one
differs, 1 when the primary or the mirror cannot be reached.

  causeway mirror-check postgres://app@db1/app --mirror postgres://app@db9/app --tables users,orders`,
}

/** The text of `causeway --help`, or of one command's `--help`. */
export function usage(topic?: CommandName): string {
  if (topic !== undefined) return `Usage: ${TOPICS[topic]}\n\n${URLS}\n${EXIT_CODES}\n`
  return `Usage: causeway <command> [options]

Commands:
${Object.values(TOPICS)
  .map((text) => `  ${text.split('\n')[0]}`)
  .join('\n')}

Options:
  -r, --replica <url>   a replica (repeat for each)
  --json                machine-readable output (status, route, mirror-check)
  --interval <ms>       redraw interval (watch)
  --mirror <url>        the database to compare with the primary (mirror-check)
  --tables <a,b,...>    only these tables (mirror-check)
  -h, --help            this text; "causeway <command> --help" for one command

${URLS}
${EXIT_CODES}
`
}
