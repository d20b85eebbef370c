import { decodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ROWS = 100_000;

let t: TestServer;
let accountId: string;
let listDbId: string;
let workspaceDbId: string;

beforeAll(async () => {
  t = await startTestServer();
  const h = listHelpers(t);
  accountId = await h.account('admin@big.test');
  const ws = await h.workspace(accountId, 'admin@big.test', 'PRIVATE');
  workspaceDbId = ws.dbId;
  listDbId = decodeGlobalID(await h.list(ws.id, 'admin@big.test', 'SHAREABLE', 'Big')).id;
  const db = t.server.services.db;
  // 100,000 people, each with a share of the list: one report row each.
  await db.$executeRaw`
    INSERT INTO "User" (id, email, name, "updatedAt")
    SELECT gen_random_uuid()::text, 'person' || g || '@outside.test', 'Person, "' || g || '"', now()
    FROM generate_series(1, ${ROWS}) g`;
  await db.$executeRaw`
    INSERT INTO "Share" (id, "listId", role, "userId", "createdById")
    SELECT gen_random_uuid()::text, ${listDbId}, 'VIEWER', u.id, NULL
    FROM "User" u WHERE u.email LIKE '%@outside.test'`;
}, 300_000);

afterAll(async () => {
  await t?.close();
});

it('streams a 100,000-row report as it reads it: rows written after the download began still arrive', async () => {
  const res = await fetch(`${t.server.url}/accounts/${encodeURIComponent(accountId)}/access-report.csv`, {
    headers: { authorization: `Bearer ${await t.token('admin@big.test')}` },
  });
  expect(res.status).toBe(200);
  const reader = res.body?.getReader();
  if (!reader) throw new Error('no body');
  const decoder = new TextDecoder();
  const first = await reader.read();
  expect(first.done).toBe(false);
  let text = decoder.decode(first.value, { stream: true });
  expect(text.startsWith('resource_type,resource_id,')).toBe(true);
  // The download is under way and not read further: a report loaded whole before sending would
  // not hold a list made now, whose id sorts after every other; a keyset cursor reaches it.
  const late = await t.server.services.db.list.create({
    data: {
      id: 'ffffffff-ffff-7fff-bfff-ffffffffffff',
      workspaceId: workspaceDbId,
      name: 'Made during the download',
      kind: 'MAIN',
      generalAccess: 'RESTRICTED',
      creatorId: (await t.server.services.db.user.findUniqueOrThrow({ where: { email: 'admin@big.test' } })).id,
    },
  });
  let chunks = 1;
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    chunks++;
    text += decoder.decode(next.value, { stream: true });
  }
  text += decoder.decode();
  const lines = text.split('\r\n');
  expect(lines.pop()).toBe('');
  const [, ...rows] = lines;
  // Every share (names with a comma and quotes stay one line each); the admin made both lists and
  // owns the workspace, so is creator and (a joined admin) co-owner of each, and its member.
  expect(rows.filter((l) => l.includes(',SHARE_USER,')).length).toBe(ROWS);
  const lateRows = rows.filter((l) => l.includes(',Made during the download,'));
  expect(lateRows.map((l) => l.split(',')[7]).sort()).toEqual(['ACCOUNT_ADMIN', 'CREATOR']);
  expect(rows.length).toBe(ROWS + 5);
  expect(late.id).toBeDefined();
  // Written as it was read: many chunks, not one body.
  expect(chunks).toBeGreaterThan(10);
}, 300_000);
