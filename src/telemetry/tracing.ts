import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Spans of sharegraph, under the tracer provider registered globally (none: every span is a no-op). */
export const tracer = trace.getTracer('sharegraph');

/**
 * Whether the standard OTEL_* variables ask for traces: an OTLP endpoint, or OTEL_TRACES_EXPORTER
 * other than `none`. Unset, nothing is traced and no exporter runs.
 */
export function tracingRequested(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  if (env.OTEL_TRACES_EXPORTER) return true;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Registers a tracer provider exporting over OTLP/HTTP, configured by the OTEL_* variables
 * (endpoint, headers, service name, sampler): main.ts calls it before the server starts, when
 * `tracingRequested`. Returns its shutdown, which flushes the spans still buffered.
 */
export async function startTracing(): Promise<() => Promise<void>> {
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  provider.register();
  return () => provider.shutdown();
}

/** Runs `work` inside `span` (so that the spans it starts, its SQL statements among them, are its children). */
export function within<T>(span: Span, work: () => T): T {
  return context.with(trace.setSpan(context.active(), span), work);
}

/** Ends `span` with an error status when `failed`. */
export function endSpan(span: Span, failed?: string): void {
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: failed });
  span.end();
}

/**
 * A span per GraphQL operation that goes through envelop (HTTP, and queries and mutations over
 * websockets), named `<type> <name>` with the `graphql.operation.*` attributes; execution runs
 * inside it, so the database statements it sends are its children.
 */
export function tracingPlugin(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      const type = operation?.operation ?? 'query';
      const name = operation?.name?.value;
      const span = tracer.startSpan(`${type}${name ? ` ${name}` : ''}`, {
        kind: SpanKind.SERVER,
        attributes: { 'graphql.operation.type': type, ...(name ? { 'graphql.operation.name': name } : {}) },
      });
      setExecuteFn((execArgs) => within(span, () => executeFn(execArgs)));
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? result.errors : undefined;
          endSpan(span, errors?.length ? errors.map((e) => e.message).join('; ') : undefined);
        },
      };
    },
  };
}

/**
 * A span for each SQL statement, a child of whatever span is active when Prisma reports it (its
 * query event, which carries when it started and how long it took). The statement's text is
 * kept (parameters are not: Prisma sends them apart).
 */
export function traceStatement(event: { query: string; timestamp: Date; duration: number }): void {
  if (!trace.getSpan(context.active())) return;
  const start = event.timestamp.getTime();
  tracer
    .startSpan('db.statement', {
      kind: SpanKind.CLIENT,
      startTime: start,
      attributes: { 'db.system': 'postgresql', 'db.statement': event.query },
    })
    .end(start + event.duration);
}
