/** Prints rows as aligned columns; `rightAligned[i]` right-aligns column i (numbers). */
export function printColumns(
  rows: readonly string[][],
  rightAligned: readonly boolean[],
  print: (line: string) => void,
): void {
  const widths = rightAligned.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  for (const row of rows) {
    const cells = widths.map((width, i) =>
      rightAligned[i] ? (row[i] ?? '').padStart(width) : (row[i] ?? '').padEnd(width),
    )
    print(`  ${cells.join('  ').trimEnd()}`)
  }
}
