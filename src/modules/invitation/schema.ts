import { z } from 'zod';
import { visibleInvitationsWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';
import {
  ConflictError,
  ForbiddenError,
  InvitationError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../../errors.ts';
import { InvitationKind, InvitationStatus } from '../../generated/prisma/enums.ts';
import { futureInstant } from '../inputs.ts';
import { WorkspaceObject, WorkspaceRoleEnum } from '../workspace/schema.ts';
import {
  acceptInvitation,
  declineInvitation,
  findOpenInvitation,
  inviteToWorkspace,
  resendInvitation,
  revokeInvitation,
} from './service.ts';

const InvitationStatusEnum = builder.enumType('InvitationStatus', {
  description: 'PENDING until accepted, declined or revoked; EXPIRED once its expiry passed while pending.',
  values: [...Object.values(InvitationStatus), 'EXPIRED'] as const,
});

/** What an invitation's status reads as now: a pending one past its expiry is EXPIRED. */
export function invitationStatus(invitation: { status: InvitationStatus; expiresAt: Date }) {
  return invitation.status === 'PENDING' && invitation.expiresAt.getTime() <= Date.now()
    ? 'EXPIRED'
    : invitation.status;
}
const InvitationKindEnum = builder.enumType(InvitationKind, {
  name: 'InvitationKind',
  description: 'WORKSPACE joins a workspace; LIST_SHARE opens one shared list to an outside person.',
});

export const InvitationObject = builder.prismaNode('Invitation', {
  description: 'An invitation by email, with a single-use token sent only in the mail.',
  id: { field: 'id' },
  nullable: true,
  // Visible to its inviter, its invitee, and owners/admins of its workspace or account.
  findUnique: (id, ctx) => ({ id, AND: [visibleInvitationsWhere(ctx.viewer)] }),
  fields: (t) => ({
    kind: t.expose('kind', { type: InvitationKindEnum, description: 'What accepting gives.' }),
    email: t.exposeString('email', { description: 'Who it was sent to.' }),
    role: t.expose('workspaceRole', {
      type: WorkspaceRoleEnum,
      nullable: true,
      description: 'The workspace role it gives.',
    }),
    status: t.field({ type: InvitationStatusEnum, description: 'Where it stands.', resolve: invitationStatus }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the link stops working.' }),
    membershipExpiresAt: t.expose('membershipExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the membership it brings ends; null: never.',
    }),
    sentCount: t.exposeInt('sentCount', { description: 'How many times it was sent.' }),
    invitedBy: t.relation('invitedBy', { nullable: true, description: 'Who sent it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first sent.' }),
  }),
});

const InvitationPreview = builder.simpleObject('InvitationPreview', {
  description: 'What an invitation link opens, shown before signing in: nothing beyond names.',
  fields: (t) => ({
    kind: t.field({ type: InvitationKindEnum, description: 'What accepting gives.' }),
    email: t.string({ description: 'The address it was sent to.' }),
    accountName: t.string({ description: 'The inviting organisation.' }),
    workspaceName: t.string({ nullable: true, description: 'The workspace, for workspace invitations.' }),
    listName: t.string({ nullable: true, description: 'The list, for list invitations.' }),
    invitedByName: t.string({ nullable: true, description: 'Who invited.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the link stops working.' }),
  }),
});

builder.queryField('invitation', (t) =>
  t.field({
    type: InvitationPreview,
    nullable: true,
    description:
      'Preview of a pending invitation by its token (anonymous allowed); null when invalid, used, revoked or expired.',
    args: { token: t.arg.string({ required: true, description: 'The token from the invitation link.' }) },
    resolve: async (_root, { token }, ctx) => {
      const invitation = await findOpenInvitation(ctx, token);
      if (!invitation) return null;
      const full = await ctx.db.invitation.findUniqueOrThrow({
        where: { id: invitation.id },
        include: { account: true, workspace: true, list: true, invitedBy: true },
      });
      return {
        kind: full.kind,
        email: full.email,
        accountName: full.account.name,
        workspaceName: full.workspace?.name ?? null,
        listName: full.list?.name ?? null,
        invitedByName: full.invitedBy?.name ?? full.invitedBy?.email ?? null,
        expiresAt: full.expiresAt,
      };
    },
  }),
);

const InviteToWorkspaceInput = builder.inputType('InviteToWorkspaceInput', {
  description: 'Invite a person by email; inviting again resends with a fresh link.',
  fields: (t) => ({
    workspaceId: t.globalID({ required: true, for: WorkspaceObject, description: 'The workspace.' }),
    email: t.string({ required: true, description: 'Their email address.', validate: z.email().max(320) }),
    role: t.field({ type: WorkspaceRoleEnum, defaultValue: 'MEMBER', description: 'MEMBER (default) or OWNER.' }),
    expiresAt: t.field({
      type: 'DateTime',
      description:
        'When the membership it brings ends (a future instant; MEMBER only: a workspace keeps its owners); null: never.',
      validate: futureInstant(),
    }),
  }),
});

const InvitationPayload = (name: string) =>
  builder.simpleObject(name, {
    description: 'The invitation after the change.',
    fields: (t) => ({ invitation: t.field({ type: InvitationObject, description: 'The invitation.' }) }),
  });

builder.mutationField('inviteToWorkspace', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: InvitationPayload('InviteToWorkspacePayload'),
    description: 'Invites a person by email (whoever the workspace lets INVITE_MEMBERS); rate limited per inviter.',
    args: { input: t.arg({ type: InviteToWorkspaceInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, ConflictError, RateLimitedError],
      directResult: true,
      union: { name: 'InviteToWorkspaceResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      invitation: await inviteToWorkspace(ctx, {
        workspaceId: input.workspaceId.id,
        email: input.email,
        role: input.role ?? 'MEMBER',
        membershipExpiresAt: input.expiresAt ?? null,
      }),
    }),
  }),
);

const InvitationIdInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      invitationId: t.globalID({ required: true, for: InvitationObject, description: 'The invitation.' }),
    }),
  });

builder.mutationField('resendInvitation', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: InvitationPayload('ResendInvitationPayload'),
    description: 'Sends a pending invitation again with a fresh link and expiry; the old link stops working.',
    args: {
      input: t.arg({ type: InvitationIdInput('ResendInvitationInput', 'The invitation to resend.'), required: true }),
    },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, InvitationError, RateLimitedError],
      directResult: true,
      union: { name: 'ResendInvitationResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      invitation: await resendInvitation(ctx, { invitationId: input.invitationId.id }),
    }),
  }),
);

builder.mutationField('revokeInvitation', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: InvitationPayload('RevokeInvitationPayload'),
    description: 'Revokes a pending invitation (its inviter, or owners and admins).',
    args: {
      input: t.arg({ type: InvitationIdInput('RevokeInvitationInput', 'The invitation to revoke.'), required: true }),
    },
    errors: {
      types: [ValidationError, ForbiddenError, NotFoundError, InvitationError],
      directResult: true,
      union: { name: 'RevokeInvitationResult' },
    },
    resolve: async (_root, { input }, ctx) => ({
      invitation: await revokeInvitation(ctx, { invitationId: input.invitationId.id }),
    }),
  }),
);

const TokenInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      token: t.string({
        required: true,
        description: 'The token from the link.',
        validate: z.string().min(1).max(200),
      }),
    }),
  });

const AcceptInvitationPayload = builder.simpleObject('AcceptInvitationPayload', {
  description: 'The viewer is in.',
  fields: (t) => ({
    invitation: t.field({ type: InvitationObject, description: 'The accepted invitation.' }),
    workspace: t.field({
      type: WorkspaceObject,
      nullable: true,
      description: 'The workspace joined, for workspace invitations.',
    }),
  }),
});

builder.mutationField('acceptInvitation', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: AcceptInvitationPayload,
    description: "Accepts an invitation sent to the viewer's email; single use.",
    args: { input: t.arg({ type: TokenInput('AcceptInvitationInput', 'The invitation to accept.'), required: true }) },
    errors: {
      types: [ValidationError, InvitationError],
      directResult: true,
      union: { name: 'AcceptInvitationResult' },
    },
    resolve: async (_root, { input }, ctx) => {
      const invitation = await acceptInvitation(ctx, { token: input.token });
      const workspace = invitation.workspaceId
        ? await ctx.db.workspace.findUnique({ where: { id: invitation.workspaceId } })
        : null;
      return { invitation, workspace };
    },
  }),
);

builder.mutationField('declineInvitation', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: InvitationPayload('DeclineInvitationPayload'),
    description: "Declines an invitation sent to the viewer's email.",
    args: {
      input: t.arg({ type: TokenInput('DeclineInvitationInput', 'The invitation to decline.'), required: true }),
    },
    errors: {
      types: [ValidationError, InvitationError],
      directResult: true,
      union: { name: 'DeclineInvitationResult' },
    },
    resolve: async (_root, { input }, ctx) => ({ invitation: await declineInvitation(ctx, { token: input.token }) }),
  }),
);
