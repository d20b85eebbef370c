import { z } from 'zod';
import type { RedisTarget } from './realtime/redis.ts';

const port = z.coerce.number().int().min(0).max(65535);
const optionalUrl = z.url().optional();
const positiveMs = z.coerce.number().int().positive();
const positiveInt = positiveMs;
/** `host:port,host:port…`, as REDIS_SENTINELS and REDIS_CLUSTER_NODES list servers. */
const hostPorts = z
  .string()
  .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port,host:port…')
  .transform((list) =>
    list.split(',').map((entry) => {
      const at = entry.lastIndexOf(':');
      return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
    }),
  );
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: port.default(4000),
    HOST: z.string().min(1).optional(),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATABASE_DIRECT_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATABASE_POOL_MAX: positiveInt.optional(),
    DATA_DIR: z.string().min(1).default('.data'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    REDIS_SENTINELS: hostPorts.optional(),
    REDIS_SENTINEL_NAME: z.string().min(1).optional(),
    REDIS_CLUSTER_NODES: hostPorts.optional(),
    REDIS_KEY_PREFIX: z.string().default('sharegraph:'),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWKS_URL: optionalUrl,
    JWT_ISSUER: z.string().optional(),
    JWT_AUDIENCE: z.string().optional(),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
    MAIL_FROM: z.string().default('sharegraph <no-reply@sharegraph.local>'),
    PUBLIC_URL: optionalUrl,
    INVITATION_URL: z
      .string()
      .regex(/^https?:\/\/.*\{token\}/, 'must be an http(s) URL with {token} where the token goes')
      .optional(),
    MAIL_MAX_ATTEMPTS: positiveInt.default(5),
    MAIL_RETRY_BASE_MS: positiveMs.default(30_000),
    MAIL_POLL_MS: positiveMs.default(15_000),
    PRESENCE_TTL_MS: positiveMs.default(30_000),
    EVENT_RETENTION_HOURS: z.coerce.number().positive().default(24),
    SHUTDOWN_TIMEOUT_MS: positiveMs.default(10_000),
    INVITATION_TTL_HOURS: positiveMs.default(24 * 7),
    INVITATIONS_PER_HOUR: positiveMs.default(50),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SEED_DEMO: bool.optional(),
    GRAPHIQL: bool.optional(),
    INTROSPECTION: bool.optional(),
    TRUSTED_DOCUMENTS: z.string().min(1).optional(),
    TRUSTED_DOCUMENTS_ONLY: bool.default(false),
    QUERY_MAX_DEPTH: positiveInt.default(12),
    QUERY_MAX_ALIASES: positiveInt.default(15),
    QUERY_MAX_DIRECTIVES: positiveInt.default(10),
    QUERY_MAX_TOKENS: positiveInt.default(2_000),
    QUERY_MAX_COST: positiveInt.default(20_000),
    REQUEST_MAX_BYTES: positiveInt.default(1_000_000),
    BATCH_LIMIT: z.coerce.number().int().min(0).default(0),
    RATE_LIMIT_MUTATIONS_PER_MINUTE: positiveInt.default(300),
    RATE_LIMIT_IP_MUTATIONS_PER_MINUTE: positiveInt.default(1_200),
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: positiveInt.default(20),
    TRUST_PROXY: bool.default(false),
    RESPONSE_CACHE: bool.default(true),
    RESPONSE_CACHE_TTL_MS: positiveMs.default(10_000),
    RESPONSE_CACHE_MAX_MB: positiveInt.default(50),
    ACCESS_REVISION_WAIT_MS: positiveMs.default(1_000),
  })
  .refine((env) => !env.DATABASE_DIRECT_URL || env.DATABASE_URL, {
    path: ['DATABASE_DIRECT_URL'],
    message: 'needs DATABASE_URL (it is the direct, unpooled way to the same database)',
  })
  .refine((env) => [env.REDIS_URL, env.REDIS_SENTINELS, env.REDIS_CLUSTER_NODES].filter(Boolean).length <= 1, {
    path: ['REDIS_CLUSTER_NODES'],
    message: 'set one of REDIS_URL, REDIS_SENTINELS (with REDIS_SENTINEL_NAME) or REDIS_CLUSTER_NODES',
  })
  .refine((env) => !env.REDIS_SENTINELS === !env.REDIS_SENTINEL_NAME, {
    path: ['REDIS_SENTINEL_NAME'],
    message:
      'REDIS_SENTINELS and REDIS_SENTINEL_NAME go together (the sentinels, and the name of the master they watch)',
  })
  .refine((env) => !(env.JWT_SECRET && env.JWKS_URL), {
    path: ['JWKS_URL'],
    message: 'set either JWT_SECRET or JWKS_URL, not both',
  })
  .refine((env) => !env.TRUSTED_DOCUMENTS_ONLY || env.TRUSTED_DOCUMENTS, {
    path: ['TRUSTED_DOCUMENTS_ONLY'],
    message: 'needs TRUSTED_DOCUMENTS, the manifest of the documents to allow',
  });

/** The server's whole configuration, read once from the environment. */
export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** PostgreSQL connection string; unset means embedded PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  /**
   * The same database without a pooler in between (Prisma's `directUrl`): migrations and their
   * lock use it when set, `databaseUrl` otherwise.
   */
  databaseDirectUrl: string | undefined;
  /** PostgreSQL connections per instance at most; the pool's default (twice the cores and one) when unset. */
  databasePoolMax: number | undefined;
  /** Where embedded data lives; `null` keeps PGlite in memory (tests). */
  dataDir: string | null;
  /** The standalone Redis (REDIS_URL). */
  redisUrl: string | undefined;
  /** Where Redis is, in whichever of the three modes; unset: in-process pub/sub, presence and limits. */
  redis: RedisTarget | undefined;
  redisKeyPrefix: string;
  jwtSecret: string | undefined;
  jwksUrl: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  publicUrl: string;
  /** Where an invitation link points, with `{token}` where its token goes (an SPA's own route). */
  invitationUrl: string;
  /** The outbox's delivery (src/mail): attempts per mail, the first retry's delay (doubling), and how often it looks for mail. */
  mail: { maxAttempts: number; retryBaseMs: number; pollMs: number };
  presenceTtlMs: number;
  /** How long list events are kept for `listEvents(after:)`; an older cursor gets ResyncRequired. */
  eventRetentionMs: number;
  /** On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  invitationTtlMs: number;
  invitationsPerHour: number;
  logLevel: string;
  /** Seed demo data into an empty embedded database at start. */
  seedDemo: boolean;
  /** Serve GraphiQL on GET /graphql (default: on except in production). */
  graphiql: boolean;
  /** Answer introspection queries (default: on except in production). */
  introspection: boolean;
  /** A trusted-documents manifest (`{ "<sha256>": "<document>" }`, as codegen writes it). */
  trustedDocuments: string | undefined;
  /** Refuse every operation that is not in the trusted-documents manifest. */
  trustedDocumentsOnly: boolean;
  /** Query limits, checked before anything executes (GraphQL Armor). */
  limits: {
    depth: number;
    aliases: number;
    directives: number;
    tokens: number;
    cost: number;
    /** Largest request body read, in bytes. */
    bodyBytes: number;
    /** Most operations in one batched request; 0 turns batching off. */
    batch: number;
  };
  /** Requests per minute before `RateLimitedError`. */
  rateLimits: {
    /** Mutations per signed-in user. */
    mutationsPerUser: number;
    /** Mutations per client address, signed in or not. */
    mutationsPerIp: number;
    /** Failed authentications and wrong secret tokens per client address. */
    authFailuresPerIp: number;
  };
  /** Take the client address from X-Forwarded-For (behind a proxy you trust). */
  trustProxy: boolean;
  /** Query answers kept in memory until anything is written (src/cache). */
  responseCache: {
    enabled: boolean;
    /** Longest an answer is kept: how long a write made outside the API can go unseen. */
    ttlMs: number;
    /** Most answers kept, in bytes of their JSON (least recently used go first). */
    maxBytes: number;
  };
  /** Longest a request that hands back an access revision waits for this instance to catch up with it. */
  accessRevisionWaitMs: number;
}

/** A configuration value that cannot be used; `message` is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the configuration from `env`.
 *
 * @throws ConfigError with a single line naming the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid ${name}=${JSON.stringify(present[name] ?? '')}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const embedded = !e.DATABASE_URL;
  const host = e.HOST ?? (embedded ? '127.0.0.1' : '0.0.0.0');
  const publicUrl = (e.PUBLIC_URL ?? `http://${host === '0.0.0.0' ? 'localhost' : host}:${e.PORT}`).replace(/\/$/, '');
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host,
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    redis: e.REDIS_SENTINELS
      ? { sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME ?? '' }
      : e.REDIS_CLUSTER_NODES
        ? { clusterNodes: e.REDIS_CLUSTER_NODES }
        : e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    jwtSecret: e.JWT_SECRET,
    jwksUrl: e.JWKS_URL,
    jwtIssuer: e.JWT_ISSUER,
    jwtAudience: e.JWT_AUDIENCE,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    publicUrl,
    invitationUrl: e.INVITATION_URL ?? `${publicUrl}/invitations/{token}`,
    mail: { maxAttempts: e.MAIL_MAX_ATTEMPTS, retryBaseMs: e.MAIL_RETRY_BASE_MS, pollMs: e.MAIL_POLL_MS },
    presenceTtlMs: e.PRESENCE_TTL_MS,
    eventRetentionMs: e.EVENT_RETENTION_HOURS * 3_600_000,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    invitationTtlMs: e.INVITATION_TTL_HOURS * 3_600_000,
    invitationsPerHour: e.INVITATIONS_PER_HOUR,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO ?? (embedded && e.NODE_ENV !== 'test'),
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
    introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
    trustedDocuments: e.TRUSTED_DOCUMENTS,
    trustedDocumentsOnly: e.TRUSTED_DOCUMENTS_ONLY,
    limits: {
      depth: e.QUERY_MAX_DEPTH,
      aliases: e.QUERY_MAX_ALIASES,
      directives: e.QUERY_MAX_DIRECTIVES,
      tokens: e.QUERY_MAX_TOKENS,
      cost: e.QUERY_MAX_COST,
      bodyBytes: e.REQUEST_MAX_BYTES,
      batch: e.BATCH_LIMIT,
    },
    rateLimits: {
      mutationsPerUser: e.RATE_LIMIT_MUTATIONS_PER_MINUTE,
      mutationsPerIp: e.RATE_LIMIT_IP_MUTATIONS_PER_MINUTE,
      authFailuresPerIp: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
    },
    trustProxy: e.TRUST_PROXY,
    responseCache: {
      enabled: e.RESPONSE_CACHE,
      ttlMs: e.RESPONSE_CACHE_TTL_MS,
      maxBytes: e.RESPONSE_CACHE_MAX_MB * 1_000_000,
    },
    accessRevisionWaitMs: e.ACCESS_REVISION_WAIT_MS,
  };
}
