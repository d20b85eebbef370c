import { createSecretKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Config } from '../config.ts';

/** The identity a valid token carries. */
export interface TokenClaims {
  sub: string;
  email: string;
  name: string | undefined;
  /** Issued-at, in seconds; compared with a user's `tokensValidAfter`. */
  iat: number | undefined;
  /** Expiry, in seconds since the epoch. */
  exp: number | undefined;
}

/** Why a token was refused; the message is safe to show the client. */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly reason: 'EXPIRED' | 'INVALID',
    message: string,
  ) {
    super(message);
  }
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  email: z.email(),
  name: z.string().optional(),
  iat: z.number().optional(),
  exp: z.number().optional(),
});

/** Verifies bearer tokens: HS256 with a shared secret, or RS256/ES256 against a JWKS. */
export interface TokenVerifier {
  verify(token: string): Promise<TokenClaims>;
}

type KeyConfig = Pick<Config, 'jwtSecret' | 'jwksUrl' | 'jwtIssuer' | 'jwtAudience'>;

/** Builds the verifier from the configuration (the secret must already be resolved). */
export function createTokenVerifier(config: KeyConfig): TokenVerifier {
  const options = {
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
  };
  let check: (token: string) => Promise<JWTPayload>;
  if (config.jwksUrl) {
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.jwksUrl));
    check = async (token) => (await jwtVerify(token, jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
  } else if (config.jwtSecret) {
    // A KeyObject made once: given raw bytes, jose imports the key again on every verification.
    const key = createSecretKey(Buffer.from(config.jwtSecret));
    check = async (token) => (await jwtVerify(token, key, { ...options, algorithms: ['HS256'] })).payload;
  } else {
    throw new Error('createTokenVerifier needs JWT_SECRET or JWKS_URL');
  }
  // Clients send the same token on every request until it expires. A signature verified once
  // stays verified, so its claims are kept for a while (never past the token's expiry) instead of
  // paying the signature check per request; the user's revocation is still checked per request
  // by `authenticate`. Entries live at most a minute, so a token signed with a key since
  // withdrawn from the JWKS stops working within a minute.
  const verified = new Map<string, { claims: TokenClaims; until: number }>();
  return {
    async verify(token) {
      const now = Date.now();
      const hit = verified.get(token);
      if (hit && hit.until > now) {
        if (hasExpired(hit.claims.exp, now)) {
          verified.delete(token);
          throw new AuthError('EXPIRED', 'The token has expired');
        }
        return hit.claims;
      }
      const claims = await verifyUncached(token);
      if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value as string);
      verified.set(token, { claims, until: now + VERIFIED_TOKEN_TTL_MS });
      return claims;
    },
  };

  async function verifyUncached(token: string): Promise<TokenClaims> {
    let payload: JWTPayload;
    try {
      payload = await check(token);
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new AuthError('EXPIRED', 'The token has expired');
      throw new AuthError('INVALID', 'The token is invalid');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AuthError('INVALID', 'The token lacks a valid sub or email claim');
    return { ...claims.data, name: claims.data.name, iat: claims.data.iat, exp: claims.data.exp };
  }
}

/** Whether a token expiring at `exp` (seconds since the epoch; none: never) has expired at `now` (ms). */
export function hasExpired(exp: number | undefined, now = Date.now()): boolean {
  return exp !== undefined && exp <= Math.floor(now / 1000);
}

const VERIFIED_TOKENS_KEPT = 10_000;
const VERIFIED_TOKEN_TTL_MS = 60_000;

/** Signs an HS256 token for `email` (embedded and development use: `npm run token`, tests, demo). */
export async function signToken(
  secret: string,
  claims: { email: string; name?: string | undefined; sub?: string },
  ttl: string | number = '30d',
): Promise<string> {
  return new SignJWT({ email: claims.email, ...(claims.name ? { name: claims.name } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? claims.email)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}

/**
 * The HS256 secret: JWT_SECRET when set, otherwise one generated on first use and kept in the
 * data directory, so tokens printed by `npm run token` survive restarts.
 */
export function resolveJwtSecret(
  config: Pick<Config, 'jwtSecret' | 'jwksUrl' | 'dataDir' | 'env'>,
): string | undefined {
  if (config.jwtSecret || config.jwksUrl) return config.jwtSecret;
  if (config.env === 'production') throw new Error('Invalid JWT_SECRET="": set JWT_SECRET or JWKS_URL in production');
  if (!config.dataDir) return randomBytes(32).toString('base64url');
  const dir = resolve(config.dataDir);
  const file = join(dir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
