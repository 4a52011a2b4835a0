import { expect } from 'vitest'
import { AppProcess, type Line } from './app-process.js'
import { eventually } from './wait.js'

/** A node as the failover-writer fixture takes it. */
export interface FleetNode {
  readonly name: string
  readonly url: string
}

/**
 * Several app processes running test/fixtures/failover-writer.ts over one cluster,
 * each writing and printing what was acknowledged where.
 */
export class WriterFleet {
  readonly processes: readonly AppProcess[]

  constructor(count: number, nodes: readonly FleetNode[], env: Record<string, string>) {
    this.processes = Array.from(
      { length: count },
      () => new AppProcess('failover-writer.ts', { NODES: JSON.stringify(nodes), ...env }),
    )
  }

  /** Waits until every process is ready and has had a write acknowledged. */
  async writing(): Promise<void> {
    await Promise.all(
      this.processes.map(async (p) => {
        await p.waitForLine((l) => l.ready === true, 'the app process to be ready', 60_000)
        await p.waitForLine((l) => 'ack' in l, 'a first acknowledged write', 30_000)
      }),
    )
  }

  /** Waits until every process has had `count` writes acknowledged by the server on `port`. */
  async writingTo(port: number, count = 20): Promise<void> {
    await eventually(
      () => this.processes.every((p) => p.lines.filter((l) => l.port === port).length >= count),
      `every app process to have ${count} writes acknowledged on port ${port}`,
      60_000,
    )
  }

  /** Tells every process to stop, and returns each one's final line; each must exit by itself with 0. */
  async stop(): Promise<Line[]> {
    const codes = await Promise.all(this.processes.map((p) => p.stop()))
    expect(codes, this.processes.map((p) => p.stderr.slice(-1_000)).join('\n')).toEqual(
      this.processes.map(() => 0),
    )
    return this.processes.map((p) => p.lines.find((l) => l.done === true) ?? {})
  }

  /** Every event line of `event`, from every process. */
  events(event: string): Line[] {
    return this.processes.flatMap((p) => p.lines.filter((l) => l.event === event))
  }

  /** Every write id some process reported as acknowledged. */
  acknowledged(): string[] {
    return this.processes.flatMap((p) => p.lines.flatMap((l) => (typeof l.ack === 'string' ? [l.ack] : [])))
  }

  /** SIGKILLs whatever still runs: for afterAll/finally. */
  async kill(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.kill()))
  }
}
