import type { DbTx } from '../../db/client.ts';
import type { User } from '../../generated/prisma/client.ts';

/** Emails are compared case-insensitively everywhere: they are stored lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The user with this email, created if new: a valid token of an unknown email provisions its
 * user, and so does adding or inviting someone by email.
 */
export async function ensureUser(db: DbTx, email: string, name?: string | null): Promise<User> {
  const normalized = normalizeEmail(email);
  const existing = await db.user.findUnique({ where: { email: normalized } });
  if (existing) return existing;
  // upsert, not create: two first requests of a new user may race.
  return db.user.upsert({
    where: { email: normalized },
    create: { email: normalized, name: name ?? null },
    update: {},
  });
}
