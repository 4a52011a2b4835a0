/** A figure over the repeats of a measurement. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

/** The value at quantile `q` (0–1) of ascending `sorted`, by nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

/** A sorted copy, as a typed array (numeric sort, no boxing). */
export function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort()
}

/** The median of unsorted values (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = sorted(values)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Median, min and max. */
export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/** Rounds for the JSON: enough digits for a ratio, none wasted on a latency. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** A growable list of latencies, stored flat. */
export class Samples {
  #data = new Float64Array(1024)
  #length = 0

  get length(): number {
    return this.#length
  }

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2)
      next.set(this.#data)
      this.#data = next
    }
    this.#data[this.#length++] = value
  }

  append(other: Samples): void {
    for (const value of other.values()) this.push(value)
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.#length)
  }

  /** A sorted copy. */
  sorted(): Float64Array {
    return this.values().slice().sort()
  }
}
