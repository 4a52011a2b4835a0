/** One sample of a Prometheus text exposition. */
export interface ExposedSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A parsed exposition: its samples, and each family's `# TYPE`. */
export interface Exposition {
  readonly samples: readonly ExposedSample[]
  readonly types: ReadonlyMap<string, string>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy

/**
 * Parses the text format (version 0.0.4) line by line, strictly: a line that is
 * neither a comment nor a well-formed sample throws, so a malformed exposition
 * fails the test rather than being skipped.
 */
export function parseExposition(text: string): Exposition {
  const samples: ExposedSample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type) types.set(type[1]!, type[2]!)
      continue
    }
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    const body = match[2] ?? ''
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body)
      if (!label) throw new Error(`bad labels in: ${line}`)
      labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return { samples, types }
}

/** The samples of `name` whose labels include every one of `labels`. */
export function select(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): ExposedSample[] {
  return exposition.samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v),
  )
}

/** The sum of the values of {@link select}. */
export function total(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  return select(exposition, name, labels).reduce((sum, sample) => sum + sample.value, 0)
}
