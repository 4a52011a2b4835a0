const BARS = '▁▂▃▄▅▆▇█'

/**
 * Draws a series as one bar per sample, scaled from 0 to the series' largest value,
 * so that the shape shows whether lag is growing or draining. A missing sample (the
 * node did not answer) is a space; an all-zero series is a flat floor.
 *
 * @example
 * sparkline([0, 1, 2, 4, 8, undefined, 0]) // '▁▁▂▄█ ▁'
 */
export function sparkline(samples: readonly (number | undefined)[]): string {
  const max = Math.max(0, ...samples.filter((sample) => sample !== undefined))
  return samples
    .map((sample) => {
      if (sample === undefined) return ' '
      if (max === 0) return BARS[0]
      const step = Math.round((Math.max(0, sample) / max) * (BARS.length - 1))
      return BARS[step]
    })
    .join('')
}
