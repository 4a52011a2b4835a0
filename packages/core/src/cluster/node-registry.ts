import type { DbNode } from '../topology/db-node.js'

/**
 * The nodes of a cluster, in config order (the configured primary first): looked
 * up by name, and split into "the primary" and "every other node" for routing.
 */
export class NodeRegistry {
  readonly #nodes: DbNode[] = []
  #version = 0
  #replicas: { primary: DbNode | undefined; version: number; nodes: readonly DbNode[] } | undefined

  /** Every node; a live view, so that the monitor and topology see additions. */
  get all(): readonly DbNode[] {
    return this.#nodes
  }

  /** The node called `name`, if any. */
  byName(name: string): DbNode | undefined {
    return this.#nodes.find((node) => node.name === name)
  }

  /** Adds a node; false (and nothing added) when its name is taken. */
  add(node: DbNode): boolean {
    if (this.byName(node.name)) return false
    this.#nodes.push(node)
    this.#version++
    return true
  }

  /** Removes a node; it takes no new statements from now on. */
  remove(node: DbNode): void {
    const index = this.#nodes.indexOf(node)
    if (index < 0) return
    this.#nodes.splice(index, 1)
    this.#version++
  }

  /**
   * Every node but `primary`. Runs on every read, so it is rebuilt only when
   * membership or the primary changes.
   */
  replicas(primary: DbNode | undefined): readonly DbNode[] {
    const cache = this.#replicas
    if (cache && cache.primary === primary && cache.version === this.#version) return cache.nodes
    const nodes = this.#nodes.filter((node) => node !== primary)
    this.#replicas = { primary, version: this.#version, nodes }
    return nodes
  }
}

/**
 * Ends a node's pool and side connections. `pool.end()` waits for checked-out
 * clients to come back: that is a removed replica's drain.
 */
export function closeNode(node: DbNode): Promise<unknown> {
  return Promise.all([node.pool.end(), node.side.close(), node.captures.close()])
}
