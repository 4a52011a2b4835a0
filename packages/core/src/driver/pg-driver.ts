// The one value import of `pg` in core: every other file imports its types only,
// so that every Pool and Client core creates comes from the driver resolved here.
import pg from 'pg'

/**
 * The part of the `pg` module that Causeway uses: the classes it builds each node's
 * pool, its pooled connections and its side connections (probes, token captures)
 * from. The `pg` module itself fits (`import pg from 'pg'`, or
 * `import * as pg from 'pg'`), and so does any object with these two classes.
 *
 * Pool options reach `Pool`, and through it each pooled `Client`, unchanged: a
 * node's own `types` option still applies to its connections.
 */
export interface PgDriver {
  /** Builds each node's pool. Causeway passes `Client` (a subclass of the one below) in its options. */
  readonly Pool: new (
    config: pg.PoolConfig,
  ) => pg.Pool
  /** The connection class; Causeway subclasses it for pooled connections and opens side connections with it. */
  readonly Client: new (
    config?: pg.ClientConfig,
  ) => pg.Client
}

/**
 * The `pg` that `@causeway/core` resolves as its peer dependency: the app's own
 * copy when the package manager installs a single one, which is what a peer
 * dependency asks for.
 */
export const peerPgDriver: PgDriver = pg
