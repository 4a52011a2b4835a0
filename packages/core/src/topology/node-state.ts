/** What a node is, as last seen: `unknown` until its first probe answers. */
export type NodeRole = 'primary' | 'replica' | 'unknown'

/**
 * Whether a node may be routed to.
 * - `healthy`: yes;
 * - `suspect`: it failed once; no new reads until it passes again;
 * - `down`: it failed `downAfter` times in a row; probed with backoff;
 * - `fenced`: on an older timeline, or a second writable node: never routed to.
 */
export type NodeState = 'healthy' | 'suspect' | 'down' | 'fenced'
