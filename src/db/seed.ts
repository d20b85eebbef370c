import type { Db } from './client.ts';

/** The demo people; `npm run token -- <email>` signs a token for any of them. */
export const DEMO_USERS = {
  admin: { email: 'admin@demo.sharegraph.dev', name: 'Alex Admin' },
  ada: { email: 'ada@demo.sharegraph.dev', name: 'Ada Lovelace' },
  grace: { email: 'grace@demo.sharegraph.dev', name: 'Grace Hopper' },
  linus: { email: 'linus@demo.sharegraph.dev', name: 'Linus Pauling' },
  guest: { email: 'guest@partner.example', name: 'Pat Partner' },
} as const;

/**
 * Seeds a demo account into an empty database, so GraphiQL is useful at once: an admin, members,
 * a guest, an open and a closed workspace, lists with items and shares. Does nothing when any
 * account exists.
 */
export async function seedDemo(db: Pick<Db, '$transaction'>): Promise<{ created: boolean }> {
  return db.$transaction(async (tx) => {
    if ((await tx.account.count()) > 0) return { created: false };
    const u = Object.fromEntries(
      await Promise.all(
        Object.entries(DEMO_USERS).map(async ([key, data]) => [key, await tx.user.create({ data })] as const),
      ),
    ) as unknown as Record<keyof typeof DEMO_USERS, { id: string }>;
    const account = await tx.account.create({
      data: {
        name: 'Demo Co',
        members: {
          create: [
            { userId: u.admin.id, role: 'ADMIN' },
            { userId: u.ada.id, role: 'MEMBER' },
            { userId: u.grace.id, role: 'MEMBER' },
            { userId: u.linus.id, role: 'MEMBER' },
            { userId: u.guest.id, role: 'GUEST' },
          ],
        },
      },
    });
    const sales = await tx.workspace.create({
      data: {
        accountId: account.id,
        name: 'Sales',
        type: 'OPEN',
        createdById: u.ada.id,
        members: {
          create: [
            { userId: u.ada.id, role: 'OWNER' },
            { userId: u.grace.id, role: 'MEMBER' },
          ],
        },
      },
    });
    const leadership = await tx.workspace.create({
      data: {
        accountId: account.id,
        name: 'Leadership',
        type: 'CLOSED',
        createdById: u.admin.id,
        members: {
          create: [
            { userId: u.admin.id, role: 'OWNER' },
            { userId: u.linus.id, role: 'MEMBER' },
          ],
        },
      },
    });
    const list = (
      workspaceId: string,
      name: string,
      kind: 'MAIN' | 'SHAREABLE' | 'PRIVATE',
      creatorId: string,
      items: string[],
    ) =>
      tx.list.create({
        data: {
          workspaceId,
          name,
          kind,
          generalAccess: kind === 'MAIN' ? 'WORKSPACE' : 'RESTRICTED',
          generalRole: 'EDITOR',
          creatorId,
          items: {
            create: items.map((title, i) => ({
              title,
              position: i + 1,
              fields: { status: 'Open' },
              fieldVersions: { title: 1, status: 1 },
              createdById: creatorId,
              updatedById: creatorId,
            })),
          },
        },
      });
    await list(sales.id, 'Pipeline', 'MAIN', u.ada.id, ['Acme renewal', 'Globex pilot', 'Initech upsell']);
    const partners = await list(sales.id, 'Partner deals', 'SHAREABLE', u.ada.id, ['Joint webinar', 'Reseller terms']);
    await tx.share.create({ data: { listId: partners.id, role: 'VIEWER', userId: u.guest.id, createdById: u.ada.id } });
    const plan = await list(leadership.id, 'Hiring plan', 'MAIN', u.admin.id, ['Staff engineer', 'Designer']);
    await tx.share.create({ data: { listId: plan.id, role: 'VIEWER', userId: u.grace.id, createdById: u.admin.id } });
    return { created: true };
  });
}
