import type { Redactor } from './redactor.js'

/** Where the CLI writes: two streams, and whether the first is a terminal. */
export interface Streams {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean; readonly columns?: number }
  readonly stderr: { write(text: string): unknown }
}

/**
 * The CLI's only way to print. Every line goes through the {@link Redactor}, so no
 * command can print a password by mistake.
 */
export class Terminal {
  readonly #streams: Streams
  readonly #redactor: Redactor

  constructor(streams: Streams, redactor: Redactor) {
    this.#streams = streams
    this.#redactor = redactor
  }

  /** Whether standard output is a terminal, where ANSI cursor moves make sense. */
  get isTTY(): boolean {
    return this.#streams.stdout.isTTY === true
  }

  /** The terminal's width in columns, when it is one. */
  get columns(): number | undefined {
    return this.#streams.stdout.columns
  }

  out(text: string): void {
    this.#streams.stdout.write(this.#redactor.redact(text))
  }

  err(text: string): void {
    this.#streams.stderr.write(this.#redactor.redact(text))
  }
}
