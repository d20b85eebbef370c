/**
 * Expected failures: thrown by services, caught by the errors plugin and returned as data in each
 * mutation's `<Verb><Noun>Result` union (DESIGN.md §6). Anything else thrown is masked.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
}

/** The viewer may see the target but may not do this to it. */
export class ForbiddenError extends AppError {
  override name = 'ForbiddenError';
  readonly code = 'FORBIDDEN';
  constructor(message = 'You are not allowed to do this') {
    super(message);
  }
}

/** The target does not exist, or the viewer cannot see it (the two look the same). */
export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
  constructor(what = 'The resource') {
    super(`${what} was not found`);
  }
}

/** The input is malformed; `path` names the offending input field. */
export class ValidationError extends AppError {
  override name = 'ValidationError';
  readonly code = 'VALIDATION';
  constructor(
    message: string,
    readonly path: string[] = [],
  ) {
    super(message);
  }
}

/** The change collides with the current state (a stale version, a duplicate). */
export class ConflictError extends AppError {
  override name = 'ConflictError';
  readonly code = 'CONFLICT';
  constructor(
    message: string,
    /** The id of the current item, for `ConflictError.currentItem`. */
    readonly currentItemId: string | null = null,
  ) {
    super(message);
  }
}

/** A workspace rule may not be looser than its account's cap. */
export class CappedByAccountPolicy extends AppError {
  override name = 'CappedByAccountPolicy';
  readonly code = 'CAPPED_BY_ACCOUNT_POLICY';
}

/** The change would leave a workspace without an owner. */
export class LastOwnerError extends AppError {
  override name = 'LastOwnerError';
  readonly code = 'LAST_OWNER';
  constructor(message = 'A workspace must keep at least one owner') {
    super(message);
  }
}

/** The invitation token is unknown, used, revoked, expired, or for someone else. */
export class InvitationError extends AppError {
  override name = 'InvitationError';
  readonly code = 'INVITATION_INVALID';
}

/** Too many attempts; `retryAfterSeconds` says when to try again. */
export class RateLimitedError extends AppError {
  override name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/**
 * The instance could not apply the access revision a request handed back within
 * ACCESS_REVISION_WAIT_MS (its invalidation bus is cut off): answering could serve what that write
 * changed. Another instance, or this one a moment later, can answer.
 */
export class RevisionNotReachedError extends AppError {
  override name = 'RevisionNotReachedError';
  readonly code = 'REVISION_NOT_REACHED';
  constructor(readonly retryAfterSeconds: number) {
    super('This instance has not caught up with the access revision yet; try again shortly');
  }
}
