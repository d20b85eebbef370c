import { type GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics (prom-client), served at /metrics. One registry per server, so
 * that servers sharing a process (the tests) count apart.
 */
export interface Metrics {
  registry: Registry;
  /** GraphQL operations by name, type and outcome (`ok`, `error`, `refused` before execution). */
  operations: Counter<'operation' | 'type' | 'outcome'>;
  /** Their duration, from execution to result (a subscription: to its first result). */
  duration: Histogram<'operation' | 'type'>;
  /** Events sent to subscribers over websockets, by subscription root field. */
  eventsDelivered: Counter<'field'>;
  /** Requests refused by a spent budget, by budget. */
  rateLimited: Counter<'budget'>;
  /** Queries answered from the response cache. */
  cacheHits: Counter;
  /** Queries executed by their compiled form (src/compiled-queries.ts) rather than graphql's executor. */
  compiledExecutions: Counter;
  plannedExecutions: Counter;
}

/** Gauges read when Prometheus scrapes: open websockets, subscriptions by root field, presence sessions. */
export interface LiveCounts {
  websockets(): number;
  subscriptions(): Map<string, number>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  return {
    registry,
    operations: new Counter({
      name: 'sharegraph_graphql_operations_total',
      help: 'GraphQL operations by name, type and outcome (ok, error, refused)',
      labelNames: ['operation', 'type', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sharegraph_graphql_operation_duration_seconds',
      help: 'Time from execution to result of GraphQL operations',
      labelNames: ['operation', 'type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsDelivered: new Counter({
      name: 'sharegraph_subscription_events_delivered_total',
      help: 'Events sent to subscribers over websockets, by subscription field',
      labelNames: ['field'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'sharegraph_rate_limit_refusals_total',
      help: 'Requests refused because a budget was spent, by budget',
      labelNames: ['budget'],
      registers: [registry],
    }),
    cacheHits: new Counter({
      name: 'sharegraph_response_cache_hits_total',
      help: 'Queries answered from the response cache',
      registers: [registry],
    }),
    compiledExecutions: new Counter({
      name: 'sharegraph_graphql_compiled_executions_total',
      help: "Queries executed by their compiled form (graphql-jit) rather than graphql's executor",
      registers: [registry],
    }),
    plannedExecutions: new Counter({
      name: 'sharegraph_graphql_planned_executions_total',
      help: 'Queries answered by a plan of the whole operation (src/planned-queries.ts), with no resolver per field',
      registers: [registry],
    }),
  };
}

/** Registers the gauges that read `live` at each scrape. */
export function watchLiveCounts(metrics: Metrics, live: LiveCounts): void {
  new Gauge({
    name: 'sharegraph_websockets_open',
    help: 'Open graphql-ws sockets',
    registers: [metrics.registry],
    collect() {
      this.set(live.websockets());
    },
  });
  new Gauge({
    name: 'sharegraph_subscriptions_active',
    help: 'Active subscriptions over websockets, by root field',
    labelNames: ['field'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [field, n] of live.subscriptions()) this.set({ field }, n);
    },
  });
  new Gauge({
    name: 'sharegraph_presence_sessions',
    help: 'Presence sessions held by this instance (one per presence subscription)',
    registers: [metrics.registry],
    collect() {
      this.set(live.subscriptions().get('presence') ?? 0);
    },
  });
}

/** The root field names an operation selects (`presence`, `listEvents`, `me`). */
export function rootFields(document: import('graphql').DocumentNode, operationName?: string | null): string[] {
  const operation = getOperationAST(document, operationName);
  return (operation?.selectionSet.selections ?? []).flatMap((s) => (s.kind === 'Field' ? [s.name.value] : []));
}

/**
 * Counts and times every operation that goes through envelop (HTTP, and queries and mutations
 * over websockets; the shared subscriptions are counted by server.ts). An operation refused before
 * execution (a limit, an unknown document) counts as `refused`.
 */
export function metricsPlugin(metrics: Metrics): Plugin {
  const executed = new WeakSet<object>();
  return {
    onExecute({ args }) {
      const request = (args.contextValue as { request?: object }).request;
      if (request) executed.add(request);
      const operation = getOperationAST(args.document, args.operationName);
      const labels = { operation: operation?.name?.value ?? 'anonymous', type: operation?.operation ?? 'unknown' };
      const stop = metrics.duration.startTimer(labels);
      return {
        onExecuteDone({ result }) {
          stop();
          const errors = 'errors' in result ? result.errors : undefined;
          metrics.operations.inc({ ...labels, outcome: errors?.length ? outcomeOf(errors) : 'ok' });
        },
      };
    },
    onResultProcess({ request, result }) {
      // Refused before execution (a bad request, validation, a limit): no onExecute saw it. An
      // answer from the response cache is counted by the cache.
      if (executed.has(request) || Array.isArray(result)) return;
      const errors = (result as { errors?: readonly unknown[] }).errors;
      if (errors?.length) metrics.operations.inc({ operation: 'unknown', type: 'unknown', outcome: 'refused' });
    },
  };
}

function outcomeOf(errors: readonly GraphQLError[]): string {
  return errors.every((e) => !e.path) ? 'refused' : 'error';
}
