/**
 * The exit codes of `causeway`, by the usual conventions:
 * - `0`: done (for `mirror-check`: every table is equal);
 * - `1`: the primary (or the mirror) could not be reached, or another runtime failure;
 * - `2`: a usage error (an unknown command or flag, a missing or bad argument);
 * - `3`: `mirror-check` compared every table and at least one differs (or could
 *   not be read on one side), so that a script can tell "not migrated yet" from
 *   "could not look".
 */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2, mirrorDiffers: 3 } as const)

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
