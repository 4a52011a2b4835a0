import { parsePairs } from '../config/conninfo.js'

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

/**
 * Parses a standby's `primary_conninfo` into `key=value` pairs, with libpq's
 * quoting and escapes (the config's parser: one syntax, one parser).
 */
export function parseConninfo(text: string): [string, string][] {
  return parsePairs(text, (problem) => new Error(`malformed connection string: ${problem}`))
}

function quote(value: string): string {
  return /^[^\s'\\]+$/.test(value) ? value : `'${value.replace(/(['\\])/g, '\\$1')}'`
}
