/**
 * Keeps credentials out of every message, event and log line. Passwords of every
 * configured node are registered here when a cluster is created; `redact` replaces
 * them, and any `user:password@` in a URL, with `***`.
 */
const secrets = new Set<string>()

/** Registers a secret that must never appear in output. Short strings are ignored: replacing them would mangle text. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) secrets.add(secret)
}

const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):([^@/\s]*)@/gi
const KEYWORD_PASSWORD = /(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi
// SQL: `create role app password 'x'`, `alter user app with encrypted password 'x'`.
const SQL_PASSWORD = /(\bpassword\s+)('(?:[^']|'')*')/gi

/**
 * Removes credentials from a text.
 *
 * @example
 * redact('cannot reach postgres://app:s3cret@db2/app') // 'cannot reach postgres://app:***@db2/app'
 */
export function redact(text: string): string {
  let out = text
    .replace(URL_CREDENTIALS, '$1:***@')
    .replace(KEYWORD_PASSWORD, '$1***')
    .replace(SQL_PASSWORD, "$1'***'")
  for (const secret of secrets) if (out.includes(secret)) out = out.replaceAll(secret, '***')
  return out
}
