import { randomUUID } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, getOperationAST, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import { complexityLimit } from './complexity.ts';
import { documentIdOf, type TrustedDocuments } from './trusted-documents.ts';

/** The header a browser cannot send cross-site without a preflight; GET and form posts need it. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * What guards the door before anything executes: query limits (GraphQL Armor), CSRF prevention,
 * introspection off in production, trusted documents. Each refusal happens at parse or
 * validation, so a refused request costs no database statement.
 */
export function securityPlugins(config: Config, trusted: TrustedDocuments | null): Plugin[] {
  const { limits } = config;
  const plugins: Plugin[] = [
    limitBodySize(limits.bodyBytes),
    wellFormedParams(),
    useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
    EnvelopArmorPlugin({
      maxDepth: { n: limits.depth, flattenFragments: true, ...reported },
      maxAliases: { n: limits.aliases, ...reported },
      maxDirectives: { n: limits.directives, ...reported },
      maxTokens: { n: limits.tokens },
      // Cost is counted by complexityLimit instead, which counts list sizes (`first`).
      costLimit: { enabled: false },
      // Suggestions ("did you mean …?") describe the schema; off wherever introspection is.
      blockFieldSuggestion: { enabled: !config.introspection },
    }),
    limitErrorsAsValidationErrors(),
    complexityLimit(limits.cost),
    // @defer and @stream: incremental results as multipart/mixed over HTTP, several `next`
    // messages over graphql-ws.
    useDeferStream(),
    noServerSentEvents(),
  ];
  if (!config.introspection) plugins.push(disableIntrospection());
  if (trusted) {
    plugins.push(
      usePersistedOperations({
        getPersistedOperation: (id) => trusted.byId(id),
        extractPersistedOperationId: (params) => documentIdOf(params as Parameters<typeof documentIdOf>[0]),
        allowArbitraryOperations: !config.trustedDocumentsOnly,
        customErrors: {
          notFound: {
            message: 'Unknown document id',
            extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } },
          },
          persistedQueryOnly: {
            message: 'Only trusted documents are accepted here',
            extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } },
          },
        },
      }),
    );
  }
  return plugins;
}

/** Deepest nesting of objects and arrays in `variables` (a JSON argument's own nesting included). */
export const MAX_VARIABLES_DEPTH = 64;

/**
 * Why a request's parameters cannot be a GraphQL request (`query` not a string, variables that are
 * not an object or nest deeper than MAX_VARIABLES_DEPTH), or null. Checked before anything else
 * reads them (the response cache hashes the variables), without recursion: a nesting too deep to
 * serialise is refused, not a stack overflow.
 */
export function malformedParams(params: {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}): GraphQLError | null {
  const bad = (message: string) =>
    new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
  if (params.query !== undefined && params.query !== null && typeof params.query !== 'string') {
    return bad('Invalid request: "query" must be a string');
  }
  if (params.operationName != null && typeof params.operationName !== 'string') {
    return bad('Invalid request: "operationName" must be a string');
  }
  const { variables } = params;
  if (variables == null) return null;
  if (typeof variables !== 'object' || Array.isArray(variables)) {
    return bad('Invalid request: "variables" must be an object');
  }
  let level: unknown[] = [variables];
  for (let depth = 1; level.length; depth++) {
    if (depth > MAX_VARIABLES_DEPTH) {
      return bad(`Invalid request: "variables" nest deeper than ${MAX_VARIABLES_DEPTH} levels`);
    }
    const next: unknown[] = [];
    for (const value of level) {
      for (const child of Object.values(value as object)) {
        if (child !== null && typeof child === 'object') next.push(child);
      }
    }
    level = next;
  }
  return null;
}

function wellFormedParams(): Plugin {
  return {
    onParams({ params }) {
      const error = malformedParams(params);
      if (error) throw error;
    },
  };
}

const BODY_TOO_LARGE = () =>
  new GraphQLError('Request body too large', {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });

/**
 * Bounds the request body at `limit` bytes (413 beyond it), in place of yoga's own
 * `maxRequestBodySize`, which pipes every body through a web TransformStream (a pipeline, abort
 * signals, a DOMException at its end): a third of a cached answer's CPU. A body with a
 * Content-Length is checked on the header alone, since node's HTTP parser delivers exactly that
 * many bytes as the body; only a body without one (chunked) is counted as it is read.
 */
function limitBodySize(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!/^\d+$/.test(declared)) {
          throw new GraphQLError('Content-Length header is invalid', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
        if (Number(declared) > limit) throw BODY_TOO_LARGE();
        return;
      }
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser(async (req) => {
        const body = await readAtMost(req.body as ReadableStream<Uint8Array>, limit);
        return parse(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, body }));
      });
    },
  };
}

/** The whole of `stream`, refused (413) as soon as it passes `limit` bytes. */
async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Buffer<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    length += read.value.byteLength;
    if (length > limit) {
      await reader.cancel().catch(() => {});
      throw BODY_TOO_LARGE();
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks, length);
}

/**
 * Armor's validation rules throw by default, which makes validation itself fail (a 200 with an
 * error); reported instead, the limit joins the validation errors.
 */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/**
 * GraphQL Armor words a limit as "Syntax Error: …"; it is a validation failure, so it gets the
 * same code and HTTP status (400 for graphql-response+json) as graphql's own.
 */
function limitErrorsAsValidationErrors(): Plugin {
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (!result.some((e) => !e.extensions?.code)) return;
        setResult(
          result.map((e) =>
            e.extensions?.code
              ? e
              : new GraphQLError(e.message.replace(/^Syntax Error: /, ''), {
                  nodes: e.nodes ?? null,
                  extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
                }),
          ),
        );
      },
  };
}

/**
 * GraphQL over SSE (yoga answers it by default) is turned off: subscriptions are served over
 * graphql-ws, where they are authorised, shared and ended as DESIGN.md §4 says; an SSE stream
 * would skip all of it. A request that accepts only `text/event-stream` gets a 406.
 */
function noServerSentEvents(): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const accept = request.headers.get('accept') ?? '';
      if (
        !accept.includes('text/event-stream') ||
        /application\/(graphql-response\+)?json|multipart\/mixed|\*\/\*/.test(accept)
      ) {
        return;
      }
      const error = {
        message: 'GraphQL over server-sent events is not served here: use graphql-ws on this path for subscriptions',
        extensions: { code: 'NOT_ACCEPTABLE' },
      };
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [error] }), {
          status: 406,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      );
    },
  };
}

/** Refuses `__schema` and `__type` (graphql's own rule); `__typename` stays allowed. */
function disableIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
  };
}

const requestIds = new WeakMap<Request, string>();

/**
 * A fresh request id, shaped as a UUID: a random prefix drawn once per process and a counter in
 * its last group. Unique as a random UUID would be (the prefix carries 90 random bits), without
 * drawing from the system's entropy on every request (about a hundredth of an executed query's CPU).
 */
const freshRequestId = (() => {
  const prefix = randomUUID().slice(0, 24);
  let counter = Number.parseInt(randomUUID().slice(24, 32), 16);
  return () => {
    counter = (counter + 1) % 0x1000000000000;
    return prefix + counter.toString(16).padStart(12, '0');
  };
})();

/** The request id for `request`: a sane X-Request-Id from the caller, or a fresh one. */
export function requestIdOf(request: Request | undefined): string {
  if (!request) return freshRequestId();
  let id = requestIds.get(request);
  if (!id) {
    const sent = request.headers.get('x-request-id');
    id = sent && /^[\w.:-]{1,64}$/.test(sent) ? sent : freshRequestId();
    requestIds.set(request, id);
  }
  return id;
}

/**
 * One structured line per operation (its name, type, duration and error codes, never variables,
 * tokens or bodies) on the request's logger, which carries the request id and the viewer id;
 * the id is echoed in the X-Request-Id response header.
 */
export function requestLog(): Plugin<Context> {
  return {
    onResponse: ({ request, response }) => {
      response.headers.set('x-request-id', requestIdOf(request));
    },
    onExecute: ({ args }) => {
      const started = performance.now();
      const ctx = args.contextValue;
      const operation = getOperationAST(args.document, args.operationName);
      return {
        onExecuteDone: ({ result }) => {
          if (!('errors' in result) && !('data' in result)) return; // a subscription's stream
          const errors = (result.errors ?? []).map((e: GraphQLError) => e.extensions?.code ?? 'INTERNAL');
          ctx.log.info(
            {
              operation: operation?.name?.value ?? null,
              type: operation?.operation ?? null,
              durationMs: Math.round((performance.now() - started) * 10) / 10,
              ...(errors.length ? { errors } : {}),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}
