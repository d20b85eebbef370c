import {
  createSourceEventStream,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from '../context.ts';

/** Turns any error into what a client may see (yoga's `maskedErrors`). */
export type MaskError = (error: unknown) => GraphQLError;

/** One subscription operation: its document, variables and context. */
export interface SubscriptionArgs {
  schema: GraphQLSchema;
  document: ExecutionArgs['document'];
  operationName?: string | null | undefined;
  variableValues?: Record<string, unknown> | null | undefined;
  contextValue: Context;
  /**
   * Tells apart operations whose results may differ for the same event: the document and its
   * variables. Subscribers whose key is equal get the same result object for an event unless
   * its execution read who the viewer is.
   */
  key: string;
}

/** What an execution read of the context beyond the shared services. */
enum Reads {
  /** Nothing about the viewer: the result is the same for every subscriber with the same key. */
  Nothing = 0,
  /** `viewer` or `access`: the result holds for subscribers who are the same viewer. */
  Viewer = 1,
  /** Where the request comes from (`client`, `limits`): the result is this subscriber's alone. */
  Client = 2,
}

const VIEWER_KEYS: ReadonlySet<PropertyKey> = new Set(['viewer', 'access']);
const CLIENT_KEYS: ReadonlySet<PropertyKey> = new Set(['client', 'limits']);

interface Execution {
  result: ExecutionResult;
  reads: Reads;
  /** The viewer it ran as, for `Reads.Viewer`. */
  viewer: string;
}

/** An execution under way, and its outcome once it succeeded. */
interface Shared {
  execution: Promise<Execution>;
  done?: Execution;
}

const memo = new WeakMap<object, Map<string, Shared>>();

/**
 * Executes `args` on `event` once for every subscriber on this instance who may see the same
 * result, and hands them all the same result object. `viewer` is `viewerKey(args.contextValue)`.
 *
 * Sharing is decided by what the execution reads, not by a list of fields: it runs on a view of
 * the context that notes every read of `viewer` and `access` (whose answers depend on who asks)
 * and of `client` and `limits` (where they ask from). A result that read neither is a function of
 * the event, the document, the variables and the database, so every subscriber with the same key
 * gets it; one that read the viewer is shared only among the viewer's own subscriptions (their
 * tabs); one that read the client is never shared. A resolver that depends on the viewer must ask
 * the context for the viewer, so a new field such as `viewerRole` is never shared by mistake.
 */
export async function executeShared(
  event: unknown,
  args: SubscriptionArgs,
  viewer: string,
  mask: MaskError,
): Promise<ExecutionResult> {
  if (typeof event !== 'object' || event === null) return (await run(event, args, mask)).result;
  let results = memo.get(event);
  if (!results) {
    results = new Map();
    memo.set(event, results);
  }
  const generic = await remember(results, args.key, () => run(event, args, mask));
  if (generic.reads === Reads.Nothing) return generic.result;
  if (generic.reads === Reads.Viewer) {
    if (generic.viewer === viewer) return generic.result;
    const own = await remember(results, `${args.key}\u0000${viewer}`, () => run(event, args, mask));
    if (own.reads !== Reads.Client) return own.result;
  }
  return (await run(event, args, mask)).result;
}

/**
 * The result `executeShared` would give when another subscriber's execution of `event` has
 * already finished and may be shared: the common case of a fan-out, without waiting a turn.
 */
function sharedNow(event: unknown, args: SubscriptionArgs, viewer: string): ExecutionResult | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const done = memo.get(event)?.get(args.key)?.done;
  if (!done || done.reads === Reads.Client) return undefined;
  return done.reads === Reads.Nothing || done.viewer === viewer ? done.result : undefined;
}

function remember(results: Map<string, Shared>, key: string, compute: () => Promise<Execution>) {
  let shared = results.get(key);
  if (!shared) {
    const execution = compute();
    const entry: Shared = { execution };
    shared = entry;
    results.set(key, entry);
    execution.then(
      (done) => {
        entry.done = done;
      },
      // A failure is not remembered: the next subscriber tries again.
      () => {
        if (results.get(key) === entry) results.delete(key);
      },
    );
  }
  return shared.execution;
}

function viewerKey(ctx: Context): string {
  return ctx.viewer ? `user:${ctx.viewer.id}` : 'anonymous';
}

async function run(event: unknown, args: SubscriptionArgs, mask: MaskError): Promise<Execution> {
  let reads = Reads.Nothing;
  const context = new Proxy(args.contextValue, {
    get(target, property, receiver) {
      if (VIEWER_KEYS.has(property)) reads = Math.max(reads, Reads.Viewer);
      else if (CLIENT_KEYS.has(property)) reads = Reads.Client;
      return Reflect.get(target, property, receiver);
    },
  });
  const result = await execute({
    schema: args.schema,
    document: args.document,
    operationName: args.operationName,
    variableValues: args.variableValues,
    contextValue: context,
    rootValue: event,
  });
  return {
    result: result.errors ? { ...result, errors: result.errors.map(mask) } : result,
    reads,
    viewer: viewerKey(args.contextValue),
  };
}

/** Writes one `next` message of the subscription, given its payload already serialised. */
export type SendNext = (payloadJson: string) => void;

/**
 * A subscription operation whose events are executed with `executeShared` and sent with
 * `sendNext`: the source stream (the subscription field's `subscribe`) once per subscriber, then
 * each event's result executed and serialised once for everyone it is shared with, so a delivery
 * costs a lookup and a socket write. The returned iterator yields nothing: it settles when the
 * stream ends (graphql-ws then sends `complete`) and rejects, masked, when the stream fails
 * (graphql-ws sends `error`); its `return()` (the client's `complete`) ends the stream at once.
 */
export async function subscribeShared(
  args: SubscriptionArgs,
  mask: MaskError,
  sendNext: SendNext,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  let source: AsyncIterable<unknown> | ExecutionResult;
  try {
    source = await createSourceEventStream({
      schema: args.schema,
      document: args.document,
      operationName: args.operationName,
      variableValues: args.variableValues,
      contextValue: args.contextValue,
    });
  } catch (err) {
    return { errors: [mask(err)] };
  }
  if (!(Symbol.asyncIterator in source)) {
    return source.errors ? { ...source, errors: source.errors.map(mask) } : source;
  }
  return delivered(source[Symbol.asyncIterator](), args, mask, sendNext);
}

const serialised = new WeakMap<ExecutionResult, string>();

/** The `payload` of a `next` message for `result`, serialised once however many receive it. */
function jsonOf(result: ExecutionResult): string {
  let json = serialised.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    serialised.set(result, json);
  }
  return json;
}

function delivered(
  source: AsyncIterator<unknown>,
  args: SubscriptionArgs,
  mask: MaskError,
  sendNext: SendNext,
): AsyncIterableIterator<ExecutionResult> {
  let finished = false;
  let pumping: Promise<IteratorResult<ExecutionResult>> | undefined;
  const viewer = viewerKey(args.contextValue);
  const done = { done: true, value: undefined } as const;
  const pump = async (): Promise<IteratorResult<ExecutionResult>> => {
    while (!finished) {
      let event: IteratorResult<unknown>;
      try {
        event = await source.next();
      } catch (err) {
        finished = true;
        throw mask(err);
      }
      if (event.done || finished) break;
      const result = sharedNow(event.value, args, viewer) ?? (await executeShared(event.value, args, viewer, mask));
      // The client left while the result was computed: nothing more is sent.
      if (finished) break;
      sendNext(jsonOf(result));
    }
    finished = true;
    return done;
  };
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next() {
      pumping ??= pump();
      return pumping;
    },
    async return() {
      if (!finished) {
        finished = true;
        await source.return?.();
      }
      return done;
    },
    async throw(err) {
      await iterator.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
