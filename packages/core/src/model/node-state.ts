/** What a node is, as last seen: `unknown` until its first probe answers. */
export type NodeRole = 'primary' | 'replica' | 'unknown'

/**
 * Whether a node may be routed to.
 * - `healthy`: yes;
 * - `suspect`: it failed once; no new reads until it passes again;
 * - `down`: it failed `downAfter` times in a row; probed with backoff;
 * - `fenced`: on an older timeline, a second writable node, or another cluster's
 *   server: never routed to;
 * - `unverified`: it answers, but the cluster's system identifier is not known yet
 *   (the configured primary has not answered) so it cannot be told from another
 *   cluster's server: never routed to until it is.
 */
export type NodeState = 'healthy' | 'suspect' | 'down' | 'fenced' | 'unverified'
