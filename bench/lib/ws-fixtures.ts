import { readFileSync } from 'node:fs';
import { gql, mutate } from './client.ts';
import type { Cluster } from './cluster.ts';

/** Someone the benches act as: their email, a token, and their User id once known. */
export interface BenchUser {
  email: string;
  token: string;
  id: string;
}

/** An account with an OPEN workspace, lists that every member can read, items, and `members` users. */
export interface Board {
  accountId: string;
  workspaceId: string;
  /** Relay ids of the lists; MAIN lists, so every account member reads them. */
  listIds: string[];
  /** Relay ids and versions of the items of the first list. */
  items: { id: string; version: number }[];
  /** The admin who made it all; creator of every list (may edit). */
  owner: BenchUser;
  members: BenchUser[];
}

export interface BoardOptions {
  members: number;
  lists?: number;
  items?: number;
  /** Distinguishes the users of one bench from another's in the same database. */
  tag: string;
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

const ME = 'query BenchMe { me { id } }';

async function user(cluster: Cluster, email: string): Promise<BenchUser> {
  const token = await cluster.token(email);
  const { me } = await gql<{ me: { id: string } }>(cluster.urls[0] as string, ME, {}, token);
  return { email, token, id: me.id };
}

/** Seeds a Board through the API of the first instance, as real users with real tokens. */
export async function seedBoard(cluster: Cluster, options: BoardOptions): Promise<Board> {
  const url = cluster.urls[0] as string;
  const owner = await user(cluster, `owner-${options.tag}@bench.sharegraph.dev`);
  const { account } = await mutate<{ account: { id: string } }>(
    url,
    'createAccount',
    `mutation BenchAccount($input: CreateAccountInput!) {
      createAccount(input: $input) { ... on CreateAccountPayload { account { id } } ... on Error { code message } }
    }`,
    { input: { name: `Bench ${options.tag}` } },
    owner.token,
  );
  const members: BenchUser[] = new Array(options.members);
  await inParallel(options.members, 8, async (i) => {
    const email = `m${i}-${options.tag}@bench.sharegraph.dev`;
    await mutate(
      url,
      'addAccountMember',
      `mutation BenchMember($input: AddAccountMemberInput!) {
        addAccountMember(input: $input) { ... on AddAccountMemberPayload { member { role } } ... on Error { code message } }
      }`,
      { input: { accountId: account.id, email, role: 'MEMBER' } },
      owner.token,
    );
    members[i] = await user(cluster, email);
  });
  const { workspace } = await mutate<{ workspace: { id: string } }>(
    url,
    'createWorkspace',
    `mutation BenchWorkspace($input: CreateWorkspaceInput!) {
      createWorkspace(input: $input) { ... on CreateWorkspacePayload { workspace { id } } ... on Error { code message } }
    }`,
    { input: { accountId: account.id, name: `Bench ${options.tag}`, type: 'OPEN' } },
    owner.token,
  );
  const listIds: string[] = [];
  for (let i = 0; i < (options.lists ?? 1); i++) {
    const { list } = await mutate<{ list: { id: string } }>(
      url,
      'createList',
      `mutation BenchList($input: CreateListInput!) {
        createList(input: $input) { ... on CreateListPayload { list { id } } ... on Error { code message } }
      }`,
      { input: { workspaceId: workspace.id, name: `Board ${i}`, kind: 'MAIN' } },
      owner.token,
    );
    listIds.push(list.id);
  }
  const items: Board['items'] = [];
  for (let i = 0; i < (options.items ?? 0); i++) {
    const { item } = await mutate<{ item: { id: string; version: number } }>(
      url,
      'createItem',
      `mutation BenchItem($input: CreateItemInput!) {
        createItem(input: $input) { ... on CreateItemPayload { item { id version } } ... on Error { code message } }
      }`,
      { input: { listId: listIds[0], title: `Item ${i}`, fields: { status: 'open' } } },
      owner.token,
    );
    items.push(item);
  }
  return { accountId: account.id, workspaceId: workspace.id, listIds, items, owner, members };
}

/** Waits until `done()` holds, polling every 10 ms; throws after `timeoutMs` with `what`. */
export async function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CPU time (user + system, seconds) that process `pid` has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
