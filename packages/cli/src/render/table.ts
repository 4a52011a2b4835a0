/** One column of a {@link renderTable}: its heading and which side numbers line up on. */
export interface Column {
  readonly heading: string
  readonly align?: 'left' | 'right'
}

/**
 * Lays out rows under headings, each column as wide as its widest cell, two spaces
 * apart. The last column is not padded, so that lines carry no trailing spaces.
 *
 * @example
 * renderTable([{ heading: 'NODE' }, { heading: 'LAG', align: 'right' }], [['pg2', '0'], ['pg3', '1024']])
 * // ['NODE  LAG', 'pg2      0', 'pg3   1024'] (as lines)
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((column, i) =>
    Math.max(displayWidth(column.heading), ...rows.map((row) => displayWidth(row[i] ?? ''))),
  )
  const line = (cells: readonly string[]) =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? ''
        if (i === columns.length - 1 && column.align !== 'right') return cell
        const pad = ' '.repeat(widths[i]! - displayWidth(cell))
        return column.align === 'right' ? pad + cell : cell + pad
      })
      .join('  ')
      .trimEnd()
  return [line(columns.map((column) => column.heading)), ...rows.map(line)]
}

/** Width in terminal cells: code points, since every character printed here is one cell wide. */
function displayWidth(text: string): number {
  return [...text].length
}
