/**
 * The environment variables that name a cluster, as `@causeway/testing` names its
 * (`CAUSEWAY_TEST_PRIMARY_URL`, a comma-separated `CAUSEWAY_TEST_REPLICA_URLS`)
 * without the `TEST_`.
 */
export const ENV_PRIMARY_URL = 'CAUSEWAY_PRIMARY_URL'
export const ENV_REPLICA_URLS = 'CAUSEWAY_REPLICA_URLS'

// A comma separates two URLs only where the next one starts: libpq's own multi-host
// syntax (`postgres://h1:5432,h2:5432/app`, `host=h1,h2`) puts commas inside one.
const NEXT_URL = /,\s*(?=postgres(?:ql)?:\/\/|[a-z_]+\s*=)/i

/**
 * Splits a comma-separated list of connection strings.
 *
 * @example
 * splitUrls('postgres://a/db, postgres://h1,h2/db') // ['postgres://a/db', 'postgres://h1,h2/db']
 */
export function splitUrls(list: string | undefined): string[] {
  return (list ?? '')
    .split(NEXT_URL)
    .map((url) => url.replace(/^[\s,]+|[\s,]+$/g, ''))
    .filter(Boolean)
}
