import { explainList } from '../../access/explain.ts';
import { decideList } from '../../access/rules.ts';
import { registerExplainer } from '../explain/schema.ts';

// A person may explain their own access; the list's co-owners, its workspace's owners and account
// admins may explain anyone's. The role comes with every grant that produced it.
registerExplainer('List', async (ctx, id, subject) => {
  const own = subject.viewer?.id === ctx.viewer.id;
  // One's own access is explained only on a list one can read: an unreadable list and a missing
  // one answer the same.
  if (own && !(await ctx.access.decideList(id, 'list:read'))?.allowed) return null;
  if (!own) {
    const mine = await ctx.access.list(id);
    if (!mine) return null;
    const mayAsk =
      decideList(mine, 'list:manage-access').allowed ||
      (await ctx.access.decideWorkspace(mine.workspace.workspaceId, 'workspace:manage'))?.allowed;
    if (!mayAsk) return null;
  }
  const facts = await subject.list(id);
  if (!facts) return null;
  return { resourceType: 'List', userId: subject.viewer?.id ?? '', ...explainList(facts) };
});
