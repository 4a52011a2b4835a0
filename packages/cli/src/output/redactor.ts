import { redact } from '@causeway/core'

// As core's own registry: shorter strings would mangle unrelated text if replaced.
const MIN_SECRET_LENGTH = 4

/**
 * Removes credentials from text before the CLI prints it. Core's `redact` already
 * hides `user:password@` in URLs, `password=` pairs and the passwords of clusters
 * it has created; this also hides the passwords of the URLs given to the CLI, so
 * that a line printed before (or without) a cluster cannot leak them either.
 */
export class Redactor {
  readonly #secrets: readonly string[]

  constructor(urls: readonly string[]) {
    this.#secrets = urls.flatMap(passwordsOf).filter((secret) => secret.length >= MIN_SECRET_LENGTH)
  }

  /** `text` with every credential replaced by `***`. */
  redact(text: string): string {
    let out = redact(text)
    for (const secret of this.#secrets) out = out.replaceAll(secret, '***')
    return out
  }
}

const PASSWORD_PAIR = /\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))/gi

/** The password of a URL or of key/value pairs, raw and percent-decoded. */
function passwordsOf(conninfo: string): string[] {
  const found: string[] = []
  for (const match of conninfo.matchAll(PASSWORD_PAIR)) found.push(match[1] ?? match[2] ?? '')
  try {
    const { password } = new URL(conninfo)
    if (password) found.push(password, decodeURIComponent(password))
  } catch {
    // Not a URL (key/value pairs, or a multi-host URL WHATWG refuses): pairs only.
  }
  return found
}
