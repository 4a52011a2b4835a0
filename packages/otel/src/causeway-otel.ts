import { tracingChannel } from 'node:diagnostics_channel'
import {
  REPLAY_WAIT_CHANNEL,
  type ReplayWaitTraceContext,
  STATEMENT_CHANNEL,
  type StatementTraceContext,
} from '@causeway/core'
import {
  type Attributes,
  context,
  type Histogram,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import { errorAttributes, operationName, statementAttributes } from './attributes.js'

/** Options of {@link enableCausewayOtel}. */
export interface CausewayOtelOptions {
  /** Default: the global one (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider
  /** Default: the global one (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider
  /**
   * Record the statement's SQL as `db.query.text` on spans (never on metrics).
   * Default false, as the conventions make it opt-in: Causeway's text has
   * placeholders, never parameter values, but literals in it may be data.
   */
  readonly queryText?: boolean
  /** Spans for synchronous-mirroring waits (`causeway replay-wait`). Default true. */
  readonly replayWaits?: boolean
}

/** The instrumentation scope's name, for tracer and meter. */
export const INSTRUMENTATION_NAME = '@causeway/otel'

/** The histogram the database conventions name, with their recommended buckets (seconds). */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]

interface Timed {
  readonly span: Span
  readonly started: number
}

/**
 * Subscribes to Causeway's TracingChannels and turns each app statement into a
 * CLIENT span, following the stable database semantic conventions
 * (`db.system.name` `postgresql`, `db.namespace`, `db.operation.name`,
 * `server.address`, `server.port`, `error.type`, opt-in `db.query.text`) plus
 * `causeway.node.name`, `causeway.node.role` and `causeway.route.reason`, and
 * records `db.client.operation.duration` (seconds) with the same low-cardinality
 * attributes. Health probes and token captures are never published, so never traced.
 *
 * Returns the function that unsubscribes (disables) it again.
 *
 * @example
 * ```ts
 * import { enableCausewayOtel } from '@causeway/otel'
 * const disable = enableCausewayOtel({ queryText: true })
 * // … later
 * disable()
 * ```
 */
export function enableCausewayOtel(options: CausewayOtelOptions = {}): () => void {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME)
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME)
  const duration: Histogram = meter.createHistogram('db.client.operation.duration', {
    description: 'Duration of database client operations.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  })
  const queryText = options.queryText === true
  const statements = new WeakMap<StatementTraceContext, Timed>()

  const statementChannel = tracingChannel<unknown, StatementTraceContext>(STATEMENT_CHANNEL)
  const statementHandlers = {
    start(ctx: StatementTraceContext) {
      const attributes = statementAttributes(ctx)
      if (queryText) attributes['db.query.text'] = ctx.statement
      const name = operationName(ctx.statement) ?? 'postgresql'
      const span = tracer.startSpan(
        ctx.database ? `${name} ${ctx.database}` : name,
        { kind: SpanKind.CLIENT, attributes },
        context.active(),
      )
      statements.set(ctx, { span, started: performance.now() })
    },
    end() {},
    asyncStart() {},
    error(ctx: StatementTraceContext) {
      const timed = statements.get(ctx)
      if (!timed) return
      timed.span.setAttributes(errorAttributes(ctx.errorCode))
      timed.span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.errorCode })
    },
    asyncEnd(ctx: StatementTraceContext) {
      const timed = statements.get(ctx)
      if (!timed) return
      statements.delete(ctx)
      const attributes: Attributes = statementAttributes(ctx)
      if (ctx.errorCode !== undefined || ctx.error !== undefined)
        Object.assign(attributes, errorAttributes(ctx.errorCode))
      if (typeof ctx.rowCount === 'number') timed.span.setAttribute('db.response.returned_rows', ctx.rowCount)
      if (ctx.stale) timed.span.setAttribute('causeway.read.stale', true)
      duration.record((performance.now() - timed.started) / 1000, attributes)
      timed.span.end()
    },
  }
  statementChannel.subscribe(statementHandlers)

  const waits = new WeakMap<ReplayWaitTraceContext, Span>()
  const waitChannel = tracingChannel<unknown, ReplayWaitTraceContext>(REPLAY_WAIT_CHANNEL)
  const waitHandlers = {
    start(ctx: ReplayWaitTraceContext) {
      const span = tracer.startSpan(
        'causeway replay-wait',
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'db.system.name': 'postgresql',
            'causeway.node.name': ctx.node,
            'causeway.node.role': ctx.role,
            'causeway.replay.required': String(ctx.required),
            'causeway.replay.timeout_ms': ctx.timeoutMillis,
          },
        },
        context.active(),
      )
      waits.set(ctx, span)
    },
    end() {},
    asyncStart() {},
    error(ctx: ReplayWaitTraceContext) {
      const span = waits.get(ctx)
      span?.setAttributes(errorAttributes(ctx.errorCode))
      span?.setStatus({ code: SpanStatusCode.ERROR, message: ctx.errorCode })
    },
    asyncEnd(ctx: ReplayWaitTraceContext) {
      const span = waits.get(ctx)
      if (!span) return
      waits.delete(ctx)
      if (ctx.lsn !== undefined) span.setAttribute('causeway.replay.lsn', ctx.lsn)
      if (ctx.mirrored) span.setAttribute('causeway.replay.mirrored', [...ctx.mirrored])
      if (ctx.timedOut !== undefined) span.setAttribute('causeway.replay.timed_out', ctx.timedOut)
      span.end()
    },
  }
  const traceWaits = options.replayWaits !== false
  if (traceWaits) waitChannel.subscribe(waitHandlers)

  let enabled = true
  return () => {
    if (!enabled) return
    enabled = false
    statementChannel.unsubscribe(statementHandlers)
    if (traceWaits) waitChannel.unsubscribe(waitHandlers)
  }
}
