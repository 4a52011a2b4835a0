import type { Availability } from '@causeway/testing'

/**
 * A describe title that says why its tests are skipped when a program they need
 * (HAProxy, PgBouncer) is missing, and the same on the console: a skip with its
 * reason, never a quiet one.
 */
export function titled(title: string, availability: Availability): string {
  if (availability.ok) return title
  console.warn(`skipping "${title}": ${availability.reason}`)
  return `${title} (skipped: ${availability.reason})`
}

/** The user and password of a `postgres://` URL, for a pooler's login. */
export function loginOf(url: string): { user: string; password: string } {
  const { username, password } = new URL(url)
  return { user: decodeURIComponent(username), password: decodeURIComponent(password) }
}
