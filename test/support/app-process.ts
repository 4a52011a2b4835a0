import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { eventually } from './wait.js'

/** One JSON line a fixture printed. */
export type Line = Record<string, unknown>

/**
 * A script of test/fixtures running as an app process of its own (`node --import
 * tsx`, workspace packages from source), printing one JSON object per line. It
 * is told to stop with a `stop` line on stdin; `kill()` SIGKILLs it.
 */
export class AppProcess {
  readonly lines: Line[] = []
  readonly #child: ChildProcessWithoutNullStreams
  readonly #closed: Promise<number | null>
  #stderr = ''
  #partial = ''

  constructor(script: string, env: Record<string, string>) {
    this.#child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`../fixtures/${script}`, import.meta.url))],
      { env: { ...process.env, NODE_OPTIONS: '--conditions=@causeway/source', ...env } },
    )
    this.#child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const text = this.#partial + chunk
      const parts = text.split('\n')
      this.#partial = parts.pop() ?? ''
      for (const part of parts) if (part.trim()) this.lines.push(JSON.parse(part) as Line)
    })
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk
    })
    // 'close', not 'exit': by then every line it wrote has been read.
    this.#closed = new Promise((resolve) => this.#child.once('close', (code) => resolve(code)))
  }

  get pid(): number {
    return this.#child.pid ?? -1
  }

  /** Whether the process still runs. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** Its standard error so far, for a failure message. */
  get stderr(): string {
    return this.#stderr
  }

  /** Waits until it printed a line that `match` accepts, and returns that line. */
  async waitForLine(match: (line: Line) => boolean, what: string, timeoutMillis = 30_000): Promise<Line> {
    let found: Line | undefined
    await eventually(
      () => {
        if (!this.running && !this.lines.some(match)) {
          throw new Error(`the app process exited before ${what}: ${this.#stderr.slice(-2_000)}`)
        }
        found = this.lines.find(match)
        return found !== undefined
      },
      `${what} (pid ${this.pid})`,
      timeoutMillis,
    )
    return found as Line
  }

  /**
   * Asks it to stop, and resolves with its exit code once it exited by itself:
   * within `timeoutMillis`, or it is SIGKILLed and this rejects (something kept it alive).
   */
  async stop(timeoutMillis = 15_000): Promise<number | null> {
    if (this.running) this.#child.stdin.end('stop\n')
    let timer: NodeJS.Timeout | undefined
    const exited = await Promise.race([
      this.#closed.then((code) => ({ code })),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMillis)
      }),
    ])
    clearTimeout(timer)
    if (exited) return exited.code
    await this.kill()
    throw new Error(`pid ${this.pid} did not exit within ${timeoutMillis} ms of being told to stop`)
  }

  /** SIGKILLs it (a crash), and resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.running) this.#child.kill('SIGKILL')
    await this.#closed
  }
}
