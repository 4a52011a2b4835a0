/**
 * The exit codes of `causeway`, by the usual conventions:
 * - `0`: done;
 * - `1`: the primary could not be reached, or another runtime failure;
 * - `2`: a usage error (an unknown command or flag, a missing or bad argument).
 */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 } as const)

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
