/** The nodes a command looks at: the primary's URL and the replicas', as given. */
export interface Targets {
  readonly primary: string
  readonly replicas: readonly string[]
}

/**
 * The database `mirror-check` compares with the primary: its URL, and the name it
 * is shown by (`host:port`, as core names a mirror given without a name), so that
 * no output needs the URL and its password.
 */
export interface MirrorTarget {
  readonly url: string
  readonly name: string
}

/**
 * A parsed command line. `help` carries the command whose help was asked for, if
 * any; the others carry everything they need, so that running them reads no
 * argument or environment variable.
 */
export type Command =
  | { readonly kind: 'help'; readonly topic: CommandName | undefined }
  | { readonly kind: 'status'; readonly targets: Targets; readonly json: boolean }
  | { readonly kind: 'watch'; readonly targets: Targets; readonly intervalMillis: number }
  | {
      readonly kind: 'route'
      readonly sql: string
      /** Undefined: answer from the classifier alone. */
      readonly targets: Targets | undefined
      readonly json: boolean
    }
  | {
      readonly kind: 'mirror-check'
      readonly targets: Targets
      readonly mirror: MirrorTarget
      /** Undefined: every table of the primary outside the system schemas (core's default). */
      readonly tables: readonly string[] | undefined
      readonly json: boolean
    }

/** The commands `causeway` knows. */
export type CommandName = 'status' | 'watch' | 'route' | 'mirror-check'

/** The commands by name, so that a new one fails to compile until it is listed. */
export const COMMAND_NAMES: Readonly<Record<CommandName, true>> = {
  status: true,
  watch: true,
  route: true,
  'mirror-check': true,
}
