/**
 * Reads and writes libpq connection strings (`host=db1 port=5432 user='a b'`), to
 * re-point a standby's `primary_conninfo` at a new primary while keeping its user,
 * password and other settings. URI-form strings (`postgresql://…`) are handled too.
 */
export function withHostPort(conninfo: string, host: string, port: number): string {
  if (/^postgres(ql)?:\/\//i.test(conninfo.trim())) {
    const url = new URL(conninfo.trim())
    url.hostname = host
    url.port = String(port)
    return url.toString()
  }
  const pairs = parseConninfo(conninfo).filter(
    ([key]) => key !== 'host' && key !== 'hostaddr' && key !== 'port',
  )
  pairs.unshift(['host', host], ['port', String(port)])
  return pairs.map(([key, value]) => `${key}=${quote(value)}`).join(' ')
}

/** Parses `key=value` pairs; values may be single-quoted with backslash escapes. */
export function parseConninfo(text: string): [string, string][] {
  const pairs: [string, string][] = []
  let i = 0
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++
  }
  for (;;) {
    skipSpace()
    if (i >= text.length) return pairs
    const keyStart = i
    while (i < text.length && text[i] !== '=' && !/\s/.test(text[i]!)) i++
    const key = text.slice(keyStart, i)
    skipSpace()
    if (text[i] !== '=') throw new Error(`malformed connection string near "${key}"`)
    i++
    skipSpace()
    let value = ''
    if (text[i] === "'") {
      i++
      while (i < text.length && text[i] !== "'") {
        if (text[i] === '\\' && i + 1 < text.length) i++
        value += text[i]
        i++
      }
      if (text[i] !== "'") throw new Error(`unterminated quote in connection string at "${key}"`)
      i++
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) {
        if (text[i] === '\\' && i + 1 < text.length) i++
        value += text[i]
        i++
      }
    }
    pairs.push([key, value])
  }
}

function quote(value: string): string {
  return /^[^\s'\\]+$/.test(value) ? value : `'${value.replace(/(['\\])/g, '\\$1')}'`
}
