import type { Logger } from 'pino';
import { Access } from './access/load.ts';
import type { TokenClaims } from './auth/jwt.ts';
import type { RememberedFacts } from './cache/facts.ts';
import type { Generations } from './cache/generations.ts';
import type { Revision, Revisions } from './cache/revisions.ts';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import type { Mailer } from './mail/mailer.ts';
import type { Realtime } from './realtime/pubsub.ts';
import type { RateLimits } from './security/rate-limits.ts';
import type { Metrics } from './telemetry/metrics.ts';

/** The signed-in user a request or socket acts as. */
export interface Viewer {
  id: string;
  email: string;
  name: string | null;
  /** When the token expires, in seconds since the epoch (WS connections close then with 4401). */
  tokenExpiresAt: number | undefined;
}

/** What every resolver and service may use; built once per request or per WS operation. */
export interface Context {
  viewer: Viewer | null;
  db: Db;
  /** Request-scoped access facts and decisions (src/access). */
  access: Access;
  realtime: Realtime;
  /** Sends what a committed change queued with `queueMail`. */
  mail: Mailer;
  config: Config;
  /** Carries the request id and the viewer id, so every line of this request can be found. */
  log: Logger;
  /** Budgets for mutations and failed attempts (src/security/rate-limits.ts). */
  limits: RateLimits;
  /** Where the request comes from. */
  client: Client;
  /** Access revisions: mutation payloads take theirs here (src/cache/revisions.ts). */
  revisions: Revisions;
  /**
   * The access revision the request handed back (`minRevision`, `X-Access-Revision`): what a
   * cache must have applied to serve it; null when it handed none back.
   */
  minRevision: Revision | null;
}

/** The origin of a request or socket. */
export interface Client {
  /** The client address (X-Forwarded-For's first hop when TRUST_PROXY is set). */
  ip: string;
  /** X-Request-Id when the caller sent a sane one, otherwise a fresh id; echoed in the response. */
  requestId: string;
}

/** The long-lived parts a server hands to every context. */
export interface Services {
  db: Db;
  realtime: Realtime;
  mail: Mailer;
  config: Config;
  log: Logger;
  limits: RateLimits;
  /** Prometheus metrics (src/telemetry/metrics.ts). */
  metrics: Metrics;
  /** The invalidation bus of the caches kept across requests; null when the response cache is off. */
  generations: Generations | null;
  revisions: Revisions;
  /** Verifies a bearer token and returns the user it names, provisioning them if new. */
  authenticate(token: string): Promise<Viewer>;
}

/**
 * Builds a context for one request (or one WS operation) from an already-authenticated viewer;
 * `remembered` lends it the access facts kept across requests (HTTP, when the response cache runs);
 * `minRevision` is the access revision the request handed back.
 */
export function makeContext(
  services: Services,
  viewer: Viewer | null,
  client: Client,
  remembered?: RememberedFacts,
  minRevision: Revision | null = null,
): Context {
  return {
    viewer,
    db: services.db,
    access: new Access(services.db, viewer, remembered),
    realtime: services.realtime,
    mail: services.mail,
    config: services.config,
    log: services.log.child({ requestId: client.requestId, ...(viewer ? { viewerId: viewer.id } : {}) }),
    limits: services.limits,
    client,
    revisions: services.revisions,
    minRevision,
  };
}

export type { TokenClaims };
