import { builder } from '../../builder.ts';
import {
  type AppError,
  CappedByAccountPolicy,
  ConflictError,
  ForbiddenError,
  InvitationError,
  LastOwnerError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../../errors.ts';

export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An expected failure, returned as data. Match `... on Error { code message }`.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'A sentence for people.' }),
    code: t.exposeString('code', { description: 'A stable code for programs, e.g. FORBIDDEN.' }),
  }),
});

const simple = [
  [ForbiddenError, 'The viewer may see the target but may not do this to it. Code FORBIDDEN.'],
  [NotFoundError, 'The target does not exist or is not visible to the viewer. Code NOT_FOUND.'],
  [
    CappedByAccountPolicy,
    'The account policy forbids what the workspace rule would allow. Code CAPPED_BY_ACCOUNT_POLICY.',
  ],
  [LastOwnerError, 'The change would leave a workspace without an owner. Code LAST_OWNER.'],
  [InvitationError, 'The invitation is unknown, used, revoked, expired or for someone else. Code INVITATION_INVALID.'],
] as const;

for (const [cls, description] of simple) {
  builder.objectType(cls, { name: cls.name, description, interfaces: [ErrorInterface], fields: () => ({}) });
}

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is malformed. Code VALIDATION.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'The input field at fault, e.g. ["input", "email"].' }),
  }),
});

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  description: 'Too many attempts. Code RATE_LIMITED.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'When to try again.' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change collides with the current state. Code CONFLICT.',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});
