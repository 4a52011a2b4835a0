import { redact } from '../util/redact.js'
import type { ClusterEventName, ClusterEvents, ClusterListener } from './cluster-events.js'

/**
 * A typed event emitter that cannot be broken by its listeners: a throwing
 * listener is reported as `listener-error` and the cluster goes on. Emitting with
 * no listener costs a map lookup.
 */
export class EventHub {
  readonly #listeners = new Map<ClusterEventName, Set<ClusterListener<ClusterEventName>>>()

  on<E extends ClusterEventName>(event: E, listener: ClusterListener<E>): () => void {
    let set = this.#listeners.get(event)
    if (!set) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener as ClusterListener<ClusterEventName>)
    return () => this.off(event, listener)
  }

  off<E extends ClusterEventName>(event: E, listener: ClusterListener<E>): void {
    this.#listeners.get(event)?.delete(listener as ClusterListener<ClusterEventName>)
  }

  has(event: ClusterEventName): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0
  }

  emit<E extends ClusterEventName>(event: E, payload: ClusterEvents[E]): void {
    const set = this.#listeners.get(event)
    if (!set || set.size === 0) return
    for (const listener of set) {
      try {
        listener(payload)
      } catch (error) {
        if (event !== 'listener-error') this.emit('listener-error', { event, error: redact(String(error)) })
      }
    }
  }

  clear(): void {
    this.#listeners.clear()
  }
}

/** A statement cut short and redacted, for an event payload. */
export function describeStatement(sql: string): string {
  const text = redact(sql.replace(/\s+/g, ' ').trim())
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}
