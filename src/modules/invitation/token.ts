import { createHash, randomBytes } from 'node:crypto';

/** A fresh single-use invitation token (sent only in the mail) and the hash that is stored. */
export function newInvitationToken(): { token: string; tokenHash: string } {
  const token = randomBytes(24).toString('base64url');
  return { token, tokenHash: hashInvitationToken(token) };
}

/** Invitation tokens are stored hashed, so a database leak does not leak working invitations. */
export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The link an invitation mail carries: `${PUBLIC_URL}/invitations/<token>` (DESIGN.md §6), or
 * INVITATION_URL's template with the token in place of `{token}`.
 */
export function invitationLink(template: string, token: string): string {
  return template.replaceAll('{token}', encodeURIComponent(token));
}
