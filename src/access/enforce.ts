import { ForbiddenError, NotFoundError } from '../errors.ts';
import type { Decision } from './rules.ts';

/**
 * Turns a decision into the error the viewer may be told: NOT_FOUND when the target does not
 * exist or is invisible to them (the two must look the same), FORBIDDEN when they see it but may
 * not do this. Returns the decision when allowed.
 */
export function enforce<R extends string>(decision: Decision<R> | null, what: string, visible?: boolean): Decision<R> {
  if (!decision) throw new NotFoundError(what);
  if (decision.allowed) return decision;
  if (!(visible ?? decision.role !== null)) throw new NotFoundError(what);
  const reason = [...decision.reasons].reverse().find((r) => r.effect === 'DENY' || r.effect === 'CAP');
  throw new ForbiddenError(reason ? `Not allowed: ${reason.detail}` : 'You are not allowed to do this');
}
