import pg from 'pg'

/** Runs one statement on a short-lived connection to `url` and returns its rows. */
export async function queryOnce<R extends Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
  connectTimeoutMillis = 2_000,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMillis })
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query<R>(sql, params)).rows
  } finally {
    await client.end().catch(() => {})
  }
}
