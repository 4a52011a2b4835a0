/** The nodes a command looks at: the primary's URL and the replicas', as given. */
export interface Targets {
  readonly primary: string
  readonly replicas: readonly string[]
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

/** The commands `causeway` knows. */
export type CommandName = 'status' | 'watch' | 'route'

/** The commands by name, so that a new one fails to compile until it is listed. */
export const COMMAND_NAMES: Readonly<Record<CommandName, true>> = { status: true, watch: true, route: true }
