import { describeStatement, type EventHub } from '../events/event-hub.js'
import type { Statement } from '../model/statement.js'
import type { DbNode } from '../topology/db-node.js'
import { redact } from '../util/redact.js'

/**
 * The accounting after a statement on `node`: its in-flight count, the latency
 * EWMA the `fastest` balancer reads, and the `statement` event, built only when
 * someone listens.
 */
export function finishStatement(
  events: EventHub,
  node: DbNode,
  statement: Statement,
  started: number,
  failure: unknown,
): void {
  node.inFlight--
  const elapsed = performance.now() - started
  node.recordLatency(elapsed)
  if (!events.has('statement')) return
  events.emit('statement', {
    node: node.name,
    role: node.role,
    intent: statement.intent,
    statement: describeStatement(statement.sql),
    durationMillis: elapsed,
    ...(failure === undefined ? {} : { error: redact(String((failure as Error).message ?? failure)) }),
  })
}
