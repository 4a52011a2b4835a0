/**
 * Parameters as JSON for the outbox, and back to the same JavaScript values, so that
 * the relay's `pg` converts them exactly as the app's did: a `Date` stays a `Date`
 * (pg formats it in the process's time zone, which the relay shares), a `Buffer`
 * stays bytes, a `bigint` stays a `bigint`. Plain JSON would turn the first two into
 * a string and an object.
 */
type Encoded = null | boolean | number | string | Encoded[] | { readonly $: string; readonly v: unknown }

/** Encodes one statement's parameters as JSON text. */
export function encodeParameters(parameters: readonly unknown[]): string {
  return JSON.stringify(parameters.map(encode))
}

/** Decodes what {@link encodeParameters} wrote. */
export function decodeParameters(text: string): unknown[] {
  return (JSON.parse(text) as Encoded[]).map(decode)
}

function encode(value: unknown): Encoded {
  if (value === undefined || value === null) return null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $: 'num', v: String(value) }
  if (typeof value === 'bigint') return { $: 'big', v: value.toString() }
  if (value instanceof Date) return { $: 'date', v: value.getTime() }
  if (value instanceof Uint8Array) return { $: 'bytes', v: Buffer.from(value).toString('base64') }
  if (Array.isArray(value)) return value.map(encode)
  // An object pg would send as JSON (or through its own toPostgres): kept as it is.
  return { $: 'json', v: value }
}

function decode(value: Encoded): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(decode)
  switch (value.$) {
    case 'num':
      return Number(value.v)
    case 'big':
      return BigInt(value.v as string)
    case 'date':
      return new Date(value.v as number)
    case 'bytes':
      return Buffer.from(value.v as string, 'base64')
    default:
      return value.v
  }
}
