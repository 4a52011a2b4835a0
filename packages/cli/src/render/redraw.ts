const ESC = '\u001b['

/** Hides the cursor while a live view redraws, so that it does not flicker across the table. */
export const HIDE_CURSOR = `${ESC}?25l`
/** Shows the cursor again; printed on exit, whatever the exit. */
export const SHOW_CURSOR = `${ESC}?25h`

/**
 * The text that replaces the last frame on a terminal with `frame`: the cursor
 * goes back up over the `previousLines` lines last drawn, to column 0, and the
 * screen is cleared from there down (a shorter frame leaves no stale lines).
 * The first frame (`previousLines` 0) is printed as it is.
 *
 * @example
 * redraw(3, 'a\nb\n') // '\x1b[3A\r\x1b[0Ja\nb\n'
 */
export function redraw(previousLines: number, frame: string): string {
  return previousLines > 0 ? `${ESC}${previousLines}A\r${ESC}0J${frame}` : frame
}

/**
 * How many terminal rows a frame ending in a newline takes: a line wider than the
 * terminal wraps onto more than one, and the cursor must go back over all of them.
 */
export function rowCount(frame: string, columns: number | undefined): number {
  const lines = frame.split('\n').slice(0, -1)
  if (!columns || columns <= 0) return lines.length
  return lines.reduce((rows, line) => rows + Math.max(1, Math.ceil([...line].length / columns)), 0)
}
