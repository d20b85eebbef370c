import { visibleUsersWhere } from '../../access/load.ts';
import { builder } from '../../builder.ts';

export const UserType = builder.prismaNode('User', {
  description: 'A person. Provisioned from the first token or invitation naming their email.',
  id: { field: 'id' },
  nullable: true,
  // node(id:) answers for the viewer and people who share an account or a workspace with them.
  findUnique: (id, ctx) => ({ id, AND: [visibleUsersWhere(ctx.viewer?.id ?? '')] }),
  fields: (t) => ({
    email: t.exposeString('email', { description: 'Their email address (lower-cased).' }),
    name: t.exposeString('name', { nullable: true, description: 'Display name, when known.' }),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true, description: 'Picture for presence avatars.' }),
  }),
});

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The signed-in user; null when anonymous.',
    resolve: (query, _root, _args, ctx) =>
      ctx.viewer ? ctx.db.user.findUnique({ ...query, where: { id: ctx.viewer.id } }) : null,
  }),
);

builder.prismaObjectField('User', 'accounts', (t) =>
  t.relation('accounts', {
    description: "The viewer's own accounts, with their role in each (empty for anyone else).",
    query: (_args, ctx) => ({ where: { userId: ctx.viewer?.id ?? '' }, orderBy: { createdAt: 'asc' } }),
  }),
);
