import { createHash } from 'node:crypto';
import { type Cache, useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { type ExecutionResult, getOperationAST, parse } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { reachableAccountsWhere } from '../access/load.ts';
import { bearerToken } from '../auth/viewer.ts';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import { requestIdOf } from '../security/plugins.ts';
import { keepFor } from './expiries.ts';
import type { Generations } from './generations.ts';

/** Who a request is, decided once per request (`yoga.ts`): the cache keys answers on it. */
export type Identify = (request: Request, serverContext: object) => Promise<unknown>;

/**
 * Queries' answers, kept in memory per caller and served without executing again until something
 * they could read is written (`watchGenerations`): any write ends them all, except a write of
 * list content (items, updates), which ends only the answers of viewers who could read some list
 * of its account (`reachableAccountsWhere`, plus the lists the request opened by link). An answer is keyed on the whole token that asked (so on the
 * viewer and everything the token carries), the document, the variables and the generation in
 * which it started; answers with errors are not kept, nor answers about invitations (they expire
 * with the clock, not with a write), nor anything asked over websockets. The caller is
 * authenticated before the cache is looked at: a revoked or expired token is refused as always.
 * `ttlMs` bounds how long a write made outside the API (a script on the database) can go unseen.
 */
export function responseCache(
  config: Config['responseCache'],
  maxTokens: number,
  generations: Generations,
  identify: Identify,
  log: Logger,
  onHit: () => void = () => {},
  /** Operations that must be answered from the database (an access revision no cache can vouch for). */
  fromDatabase: (context: object) => boolean = () => false,
): Plugin {
  // Each kept answer's accounts, and the answers kept per account (ended by a write of its lists' content).
  const accountsOf = new Map<string, string[]>();
  const byAccount = new Map<string, Set<string>>();
  const answers = new LRUCache<string, ExecutionResult>({
    maxSize: config.maxBytes,
    // Measured once, when kept (a miss executes, so this is small beside it).
    sizeCalculation: (result) => JSON.stringify(result.data ?? null).length + 1,
    dispose: (_result, key) => {
      for (const accountId of accountsOf.get(key) ?? []) byAccount.get(accountId)?.delete(key);
      accountsOf.delete(key);
    },
  });
  // A new generation makes every kept answer unreachable (its key names an older one): free them.
  generations.onChange(() => {
    answers.clear();
    scopes.clear();
  });
  generations.onContentChange((accountId) => {
    const keys = byAccount.get(accountId);
    if (!keys) return;
    byAccount.delete(accountId);
    for (const key of keys) answers.delete(key);
  });
  // Answers being kept (their accounts are being read): whoever waits for one waits for this too.
  const keeping = new Map<string, Promise<unknown>>();
  // The accounts whose lists each viewer could read, in this generation (access changes end it).
  const scopes = new LRUCache<string, Promise<string[]>>({ max: 10_000 });
  const scopeOf = (ctx: Context): Promise<string[]> => {
    const viewerId = ctx.viewer?.id;
    if (!viewerId) return Promise.resolve([]);
    let scope = scopes.get(viewerId);
    if (!scope) {
      scope = ctx.db.account
        .findMany({ where: reachableAccountsWhere(viewerId), select: { id: true } })
        .then((rows) => rows.map((r) => r.id));
      scope.catch(() => scopes.delete(viewerId));
      scopes.set(viewerId, scope);
    }
    return scope;
  };
  // An answer is kept under the accounts it could have read, unless one of them had its lists'
  // content written since the answer began (the write's end has then passed it by).
  const keep = async (ctx: Context, since: number, key: string, result: ExecutionResult, ttl: number) => {
    const generation = generations.current();
    const accounts = new Set(await scopeOf(ctx));
    if (generation !== generations.current()) return;
    for (const accountId of ctx.access.accountsSeen) accounts.add(accountId);
    for (const accountId of accounts) if (generations.lastContentWrite(accountId) > since) return;
    // No answer outlives the next expiry of a grant (a share, a link, a membership ending).
    const life = keepFor(ctx.db, ttl);
    if (life <= 0) return;
    answers.set(key, result, { ttl: life });
    const list = [...accounts];
    accountsOf.set(key, list);
    for (const accountId of list) {
      let keys = byAccount.get(accountId);
      if (!keys) {
        keys = new Set();
        byAccount.set(accountId, keys);
      }
      keys.add(key);
    }
  };
  // The cache as each operation sees it: made (before execution) where the content writes stood,
  // so that what it keeps is checked against what was written meanwhile. envelop's plugin takes a
  // function of the context for this; yoga's wrapper reads kept answers through the same object's
  // own `get` (before there is a context), so it is both.
  const cacheFor = (context: Record<string, unknown>): Cache => {
    const since = generations.contentSeq();
    const ctx = 'access' in context ? (context as unknown as Context) : null;
    // Asked now, alongside the execution (it is one statement per viewer and generation).
    ctx && scopeOf(ctx).catch(() => {});
    return {
      get: (key) => answers.get(key),
      set: (key, result, _entities, ttl) => {
        if (!ctx) return;
        const kept = keep(ctx, since, key, result, ttl).catch((err: Error) =>
          log.warn({ err: err.message }, 'response cache: answer not kept'),
        );
        keeping.set(key, kept);
        void kept.then(() => keeping.get(key) === kept && keeping.delete(key));
      },
      // Entities are not tracked: writes end answers by generation and by account.
      invalidate: () => {},
    };
  };
  const cache: Cache = Object.assign(cacheFor, {
    get: (key: string) => answers.get(key),
    set: () => {},
    invalidate: () => {},
  });
  // The session each operation is cached under (its token, or 'anonymous'); null: never from the
  // cache. Keyed by the operation's context: the operations of a batch share one request.
  const sessions = new WeakMap<object, string | null>();
  // A kept answer's JSON, by its data (the same object at every hit).
  const serialised = new WeakMap<object, string>();
  // Each operation's key, made once (the hash of its document) when its session is decided.
  const keys = new WeakMap<object, string>();
  // Requests authenticated before the context was built, so that an answer may be served at once.
  const verified = new WeakSet<object>();
  // Answers being computed, by key, and the keys each request computes.
  const inflight = new Map<string, Pending>();
  const owned = new WeakMap<Request, string[]>();
  const kinds = new LRUCache<string, string>({ max: 1_000 });
  // The operation's kind, from the text (parsed once per text, within the token limit).
  const kindOf = (query: string | undefined, operationName: string | null | undefined): string => {
    if (!query) return 'none';
    const key = `${operationName ?? ''}\n${query}`;
    let kind = kinds.get(key);
    if (kind === undefined) {
      try {
        kind = getOperationAST(parse(query, { maxTokens }), operationName)?.operation ?? 'none';
      } catch {
        kind = 'none';
      }
      kinds.set(key, kind);
    }
    return kind;
  };
  const keyOf = (
    session: string | null | undefined,
    {
      documentString,
      variableValues,
      operationName,
    }: { documentString: string; variableValues?: unknown; operationName?: string | null },
  ) =>
    createHash('sha256')
      .update(JSON.stringify([generations.current(), session, operationName ?? null, variableValues ?? null]))
      .update(documentString)
      .digest('base64url');
  return {
    // Runs before the cache plugin looks: a kept answer is served only to a caller authenticated
    // now. When there is none, nothing is asked here, so a query refused by a limit costs nothing.
    async onParams({ params, request, context }) {
      let session: string;
      try {
        session = bearerToken(request.headers.get('authorization')) ?? 'anonymous';
      } catch {
        sessions.set(context, null);
        return;
      }
      // Only queries are kept: a mutation must run every time, whatever it writes (or not).
      if (kindOf(params.query, params.operationName) !== 'query' || fromDatabase(context)) {
        sessions.set(context, null);
        return;
      }
      sessions.set(context, session);
      const key = keyOf(session, {
        documentString: params.query ?? '',
        variableValues: params.variables,
        operationName: params.operationName,
      });
      keys.set(context, key);
      if (generations.current() === null) return;
      if (!answers.has(key)) {
        // One execution per missing answer: the same query arriving meanwhile (a page many tabs
        // reload, an answer just expired) waits for it instead of executing alongside.
        const computing = inflight.get(key);
        if (!computing || performance.now() - computing.since > INFLIGHT_WAIT_MS) {
          inflight.set(key, pending());
          owned.set(request, [...(owned.get(request) ?? []), key]);
          return;
        }
        await Promise.race([computing.done, delay(INFLIGHT_WAIT_MS)]);
        if (!answers.has(key)) return;
      }
      await identify(request, context).then(
        () => verified.add(context),
        // Refused (bad token, locked out): the context says why; nothing comes from the cache.
        () => sessions.set(context, null),
      );
    },
    onPluginInit({ addPlugin }) {
      addPlugin(
        useResponseCache({
          cache,
          ttl: config.ttlMs,
          ttlPerSchemaCoordinate: { 'Query.invitation': 0, Invitation: 0, InvitationPreview: 0 },
          invalidateViaMutation: false,
          includeExtensionMetadata: false,
          session: (_request, context) => sessions.get(context),
          // Looked up before the context only for a caller authenticated above; after it (the
          // context exists, so the caller is authenticated), for everyone.
          enabled: (request, context) =>
            !!request &&
            !!sessions.get(context) &&
            generations.current() !== null &&
            (verified.has(context) || 'access' in context),
          // The key made above; a generation that began since must not change it.
          buildResponseCacheKey: ({ sessionId, context, ...params }) =>
            keys.get(context as object) ?? keyOf(sessionId, params),
        }),
      );
    },
    // A kept answer skips execution, and with it the operation's log line: write one here. It is
    // also serialised once, not at every hit (yoga uses a result's own `stringify` when it has one).
    async onResultProcess({ request, result, setResult }) {
      // The request that computed an answer is done (kept or not): whoever waited may go on.
      const computed = owned.get(request) ?? [];
      owned.delete(request);
      await Promise.all(computed.map((key) => keeping.get(key)));
      for (const key of computed) {
        inflight.get(key)?.finish();
        inflight.delete(key);
      }
      const served = result as ExecutionResult & { [SERVED_FROM_CACHE]?: boolean };
      if (!served[SERVED_FROM_CACHE]) return;
      onHit();
      log.info({ requestId: requestIdOf(request), cached: true }, 'graphql operation');
      const data = served.data;
      if (!data) return;
      setResult({
        ...served,
        stringify(sanitized: unknown) {
          let json = serialised.get(data);
          if (json === undefined) {
            json = JSON.stringify(sanitized);
            serialised.set(data, json);
          }
          return json;
        },
      } as ExecutionResult);
    },
    onDispose: () => generations.close(),
  };
}

/** Longest a query waits for the same query's execution before executing itself. */
const INFLIGHT_WAIT_MS = 2_000;

interface Pending {
  since: number;
  done: Promise<void>;
  finish(): void;
}

function pending(): Pending {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { since: performance.now(), done, finish };
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** How the yoga plugin marks an answer it served from the cache. */
const SERVED_FROM_CACHE = Symbol.for('servedFromResponseCache');
