/** A WAL position (an LSN as a bigint, as the `consistency` layer's `Lsn`: a sibling layer, not imported). */
export type WalPosition = bigint

/** A write in flight on the primary, from just before it is sent until it is acknowledged or failed. */
export type FlightTicket = number

interface Pending<T> {
  readonly position: WalPosition
  /** The last ticket handed out when it was acknowledged: every write that may have committed before it. */
  readonly barrier: FlightTicket
  readonly value: T
}

/**
 * Puts acknowledged writes back into the order they committed on the primary, by
 * the position each read in its own transaction before its COMMIT (see
 * `positionedWrite`). A write is released once no write still in flight can have
 * a smaller position: every write sent before it was acknowledged has ended (a
 * write sent later reads its position after this one committed, so a larger one).
 * Released writes come out by position, ties in acknowledgement order.
 *
 * A write that never ends holds back every write acknowledged after it was sent:
 * the price of commit order. Pure logic; the mirrors' replay queues consume it.
 */
export class CommitOrder<T> {
  #issued: FlightTicket = 0
  /** Tickets in flight, in the order handed out (a Set iterates in insertion order). */
  readonly #inFlight = new Set<FlightTicket>()
  /** Acknowledged, not yet released; sorted by position, then acknowledgement. */
  readonly #pending: Pending<T>[] = []
  /** The highest position acknowledged so far: where a write without one is put. */
  #highest: WalPosition = 0n

  /** Writes acknowledged but held back behind writes still in flight. */
  get held(): number {
    return this.#pending.length
  }

  /** Just before a write is sent. */
  start(): FlightTicket {
    const ticket = ++this.#issued
    this.#inFlight.add(ticket)
    return ticket
  }

  /**
   * The write of `ticket` was acknowledged; `position` is the one it read before
   * committing, or undefined when it could not read one: it then orders after
   * every position acknowledged so far. Returns the writes released, in commit order.
   */
  acknowledged(ticket: FlightTicket, position: WalPosition | undefined, value: T): T[] {
    this.#inFlight.delete(ticket)
    const pending = this.#pending
    const at = position ?? this.#highest
    if (at > this.#highest) this.#highest = at
    let index = pending.length
    while (index > 0 && pending[index - 1]!.position > at) index--
    pending.splice(index, 0, { position: at, barrier: this.#issued, value })
    return this.#release()
  }

  /** The write of `ticket` failed or was never sent: it will not be mirrored. Returns the writes released. */
  ended(ticket: FlightTicket): T[] {
    this.#inFlight.delete(ticket)
    return this.#release()
  }

  /** Gives up on ordering: every held write, by position (at close). */
  drain(): T[] {
    return this.#pending.splice(0).map((p) => p.value)
  }

  #release(): T[] {
    const pending = this.#pending
    const oldest = this.#inFlight.values().next()
    const released: T[] = []
    while (pending.length > 0 && (oldest.done || oldest.value > pending[0]!.barrier)) {
      released.push(pending.shift()!.value)
    }
    return released
  }
}
