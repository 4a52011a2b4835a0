import type pg from 'pg'
import type { PgDriver } from '../driver/pg-driver.js'
import { CausewayError } from '../errors/causeway-error.js'

/** The startup option that asks each session for server-side mirroring. */
export const REMOTE_APPLY_OPTION = '-c synchronous_commit=remote_apply'

type ClientClass = PgDriver['Client']

/**
 * The connection class of a node under `sync: { method: 'server' }`. Each session
 * must run with `synchronous_commit = remote_apply`, asked for at startup with
 * `options` (`config.options` already holds {@link REMOTE_APPLY_OPTION}).
 *
 * A pooler may refuse that startup parameter (PgBouncer: "unsupported startup
 * parameter: options") or drop it unseen (its `ignore_startup_parameters`). A
 * per-session `SET` cannot stand in: in transaction pooling the next transaction
 * may run on another server session. What does hold is the role's or the
 * database's own default (`ALTER ROLE … SET`), which every server session starts
 * with. So before the node's first connection, one check connection reads
 * `current_setting('synchronous_commit')`: `remote_apply` with the option, or
 * without it when the option was refused, is accepted; anything else fails every
 * connection with a `CONFIG_INVALID` error that says what to configure, rather than
 * writes returning unmirrored. A passed check is kept for the node's lifetime; a
 * failed one runs again at the next connection (after the role was altered).
 */
export function serverSyncClient(Base: ClientClass, config: pg.ClientConfig, node: string): ClientClass {
  const check = new RemoteApplyCheck(Base, config, node)
  return class ServerSyncClient extends Base {
    override connect(): Promise<pg.Client>
    override connect(callback: (error: Error | null, client?: pg.Client) => void): void
    override connect(
      callback?: (error: Error | null, client?: pg.Client) => void,
    ): Promise<pg.Client> | undefined {
      const connected = check.startupOptions().then((options) => {
        // pg builds the startup message from connectionParameters when it connects.
        parametersOf(this).options = options
        return super.connect()
      })
      if (!callback) return connected
      connected.then(
        (client) => callback(null, client),
        (error: Error) => callback(error),
      )
      return undefined
    }
  } as unknown as ClientClass
}

/** The once-per-node check of what a session's `synchronous_commit` is. */
class RemoteApplyCheck {
  readonly #Base: ClientClass
  readonly #config: pg.ClientConfig
  readonly #node: string
  #passed: Promise<string | undefined> | undefined

  constructor(Base: ClientClass, config: pg.ClientConfig, node: string) {
    this.#Base = Base
    this.#config = config
    this.#node = node
  }

  /** The `options` startup parameter that the node's connections send, once the check passed. */
  startupOptions(): Promise<string | undefined> {
    this.#passed ??= this.#run().catch((error: unknown) => {
      this.#passed = undefined
      throw error
    })
    return this.#passed
  }

  async #run(): Promise<string | undefined> {
    const withOption = this.#config.options
    try {
      const setting = await this.#setting(this.#config)
      if (setting === 'remote_apply') return withOption
      throw this.#error(
        `its sessions run with synchronous_commit = ${setting} although the startup parameter ` +
          `options='${REMOTE_APPLY_OPTION}' was sent: something between (PgBouncer's ` +
          'ignore_startup_parameters, say) dropped it.',
      )
    } catch (error) {
      if (!refusedOptions(error)) throw error
    }
    const withoutOption = withOption?.replace(REMOTE_APPLY_OPTION, '').trim() || undefined
    const setting = await this.#setting({ ...this.#config, options: withoutOption })
    if (setting === 'remote_apply') return withoutOption
    throw this.#error(
      `it is reached through a pooler that refuses the startup parameter "options" (PgBouncer), ` +
        `and its sessions run with synchronous_commit = ${setting}.`,
    )
  }

  async #setting(config: pg.ClientConfig): Promise<string> {
    const client = new this.#Base(config)
    // An error after connecting (the server going away) must not be unhandled.
    client.on('error', () => {})
    try {
      await client.connect()
      const { rows } = await client.query<{ value: string }>(
        `select current_setting('synchronous_commit') as value`,
      )
      return rows[0]?.value ?? 'unknown'
    } finally {
      client.end().catch(() => {})
    }
  }

  #error(why: string): CausewayError {
    const user = this.#config.user ?? userOf(this.#config.connectionString) ?? '<the app role>'
    return new CausewayError(
      'CONFIG_INVALID',
      `sync.method 'server' needs synchronous_commit = remote_apply on every session of ${this.#node}, but ` +
        `${why} Make it the role's default on the primary (it reaches the replicas too): ` +
        `ALTER ROLE "${user}" SET synchronous_commit = remote_apply (or ALTER DATABASE … SET), ` +
        `then let the pooler open new server connections (PgBouncer: RECONNECT, or a restart). ` +
        `Or use sync.method 'client', which needs nothing from the server.`,
      { node: this.#node },
    )
  }
}

/** PgBouncer's answer to a startup packet with `options`: FATAL 08P01. */
function refusedOptions(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return code === '08P01' && /unsupported startup parameter: options/i.test(String(message))
}

/** pg's parsed connection settings, read when it sends the startup message (not in pg's types). */
function parametersOf(client: pg.Client): { options?: string | undefined } {
  return (client as unknown as { connectionParameters: { options?: string } }).connectionParameters
}

function userOf(connectionString: string | undefined): string | undefined {
  if (!connectionString) return undefined
  try {
    return decodeURIComponent(new URL(connectionString).username) || undefined
  } catch {
    return undefined
  }
}
