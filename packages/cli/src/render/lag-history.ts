import type { ClusterStatus } from '@causeway/core'
import { sparkline } from './sparkline.js'

/**
 * The last `width` lag samples of each replica, for `causeway watch`. A node first
 * seen later starts with blanks, so that every sparkline ends at the same instant.
 */
export class LagHistory {
  readonly #width: number
  readonly #samples = new Map<string, (number | undefined)[]>()

  constructor(width: number) {
    this.#width = width
  }

  /** Adds one sample per node: its lag in bytes, or a gap when it is not a replica now. */
  record(status: ClusterStatus): void {
    for (const node of status.nodes) {
      if (!this.#samples.has(node.name)) this.#samples.set(node.name, [])
    }
    for (const [name, samples] of this.#samples) {
      const node = status.nodes.find((n) => n.name === name)
      samples.push(node?.role === 'replica' && node.state === 'healthy' ? node.lagBytes : undefined)
      if (samples.length > this.#width) samples.splice(0, samples.length - this.#width)
    }
  }

  /** The node's sparkline, padded on the left to the full width. */
  sparkline(name: string): string {
    const samples = this.#samples.get(name) ?? []
    return ' '.repeat(this.#width - samples.length) + sparkline(samples)
  }
}
