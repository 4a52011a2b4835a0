/**
 * What a statement may do, as far as routing is concerned.
 *
 * - `read`: provably reads only; may run on a replica.
 * - `write`: changes data or session state; runs on the primary.
 * - `unknown`: could not be proven either way; routed exactly like a write.
 */
export type Intent = 'read' | 'write' | 'unknown'

/** A routing decision together with the reason for it, for events and debugging. */
export interface Classification {
  readonly intent: Intent
  /** Why: the first construct that made the statement a write, or `'plain read'`. */
  readonly reason: string
}
