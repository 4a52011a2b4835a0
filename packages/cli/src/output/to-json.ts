/**
 * Pretty JSON with `null` where a value is undefined, so that every node of
 * `status --json` has the same keys (a primary's `lagBytes` is `null`, not absent).
 */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, field: unknown) => (field === undefined ? null : field), 2)}\n`
}
