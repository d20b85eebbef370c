import type { Viewer } from '../context.ts';
import { type Db, PREPARED, readRows } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { anonymizedEmail } from '../modules/anonymize/service.ts';
import { ensureUser, normalizeEmail } from '../modules/user/service.ts';
import type { RateLimits } from '../security/rate-limits.ts';
import { AuthError, type TokenClaims, type TokenVerifier } from './jwt.ts';

/**
 * Turns a bearer token into the viewer it names, provisioning the user on first sight.
 *
 * @throws AuthError when the token is invalid or expired, or its user was anonymised.
 */
export async function authenticate(db: Db, verifier: TokenVerifier, token: string): Promise<Viewer> {
  const claims = await verifier.verify(token);
  const user = (await signedInUser(db, normalizeEmail(claims.email))) ?? (await provision(db, claims));
  if (user.anonymizedAt) throw new AuthError('INVALID', 'The token is invalid');
  if (user.tokensValidAfter && (claims.iat ?? 0) * 1000 < user.tokensValidAfter.getTime()) {
    throw new AuthError('INVALID', 'The token was revoked');
  }
  return { id: user.id, email: user.email, name: user.name, tokenExpiresAt: claims.exp };
}

/** What signing in reads of a user. */
interface SignedInUser {
  id: string;
  email: string;
  name: string | null;
  tokensValidAfter: Date | null;
  anonymizedAt: Date | null;
}

/**
 * The user of an address, as signing in reads it: a statement of every request, kept planned by
 * the server (PREPARED) and read around Prisma's result mapping.
 */
async function signedInUser(db: Db, email: string): Promise<SignedInUser | null> {
  const { rows } = await readRows(
    db,
    Prisma.sql`SELECT id, email, name, "tokensValidAfter", "anonymizedAt" FROM "User" WHERE email = ${email}
${Prisma.raw(PREPARED)}`,
  );
  const [id, found, name, tokensValidAfter, anonymizedAt] = (rows[0] ?? []) as [
    string?,
    string?,
    (string | null)?,
    (Date | null)?,
    (Date | null)?,
  ];
  if (id === undefined || found === undefined) return null;
  return {
    id,
    email: found,
    name: name ?? null,
    tokensValidAfter: tokensValidAfter ?? null,
    anonymizedAt: anonymizedAt ?? null,
  };
}

/**
 * Signs in the bearer token of an Authorization `header` from the address `ip`, over HTTP or
 * websockets alike: no header is anonymous (null); otherwise refused while the address is locked
 * out for failed attempts (RateLimitedError), then authenticated, and a failure (a malformed
 * header included) spends the address's budget before the AuthError goes on.
 */
export async function signIn(
  limits: Pick<RateLimits, 'assertNotLocked' | 'failed'>,
  authenticate: (token: string) => Promise<Viewer>,
  header: string | null | undefined,
  ip: string,
): Promise<Viewer | null> {
  if (!header) return null;
  await limits.assertNotLocked({ userId: null, ip });
  try {
    const token = bearerToken(header);
    return token ? await authenticate(token) : null;
  } catch (err) {
    if (err instanceof AuthError) await limits.failed({ userId: null, ip }).catch(() => {});
    throw err;
  }
}

/**
 * Provisions the user of a new address, unless the address was anonymised after the token was
 * issued: anonymisation replaced it, and tokens issued before then must stop working.
 */
async function provision(db: Db, claims: TokenClaims) {
  const erased = await db.user.findUnique({ where: { email: anonymizedEmail(claims.email) } });
  if (erased?.tokensValidAfter && (claims.iat ?? 0) * 1000 < erased.tokensValidAfter.getTime()) {
    throw new AuthError('INVALID', 'The token was revoked');
  }
  return ensureUser(db, claims.email, claims.name);
}

/** The token of an `Authorization: Bearer …` value, or null when there is none. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new AuthError('INVALID', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}
