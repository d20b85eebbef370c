import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { chromiumAvailable as available, launchChromium } from '../helpers/browser.ts';
import { listHelpers } from '../helpers/lists.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/react');
const DIST = join(EXAMPLE, 'dist');

const CreateItem = graphql(`
  mutation ExampleE2e_CreateItem($input: CreateItemInput!) { createItem(input: $input) { __typename } }
`);
const Explain = graphql(`
  query ExampleE2e_Explain($resourceId: ID!, $userId: ID) {
    explainAccess(resourceId: $resourceId, userId: $userId) { role user { id } }
  }
`);
const Items = graphql(`
  query ExampleE2e_Items($id: ID!) { list(id: $id) { items(first: 10) { edges { node { title updatedBy { email } } } } } }
`);
const CreateWorkspace = graphql(`
  mutation ExampleE2e_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const JoinRequests = graphql(`
  query ExampleE2e_JoinRequests($id: ID!) {
    workspace(id: $id) { joinRequests { status user { email } } }
  }
`);

const ADA = 'ada@example-react.test';
const GRACE = 'grace@example-react.test';

/** The newest modification time under `path` (a file or a folder), skipping generated folders. */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(
    0,
    ...readdirSync(path)
      .filter((name) => name !== 'gql')
      .map((name) => newest(join(path, name))),
  );
}

/**
 * The example's own install and build, when they are missing or older than their sources (CI
 * runs both before the tests; a fresh clone's `npm test` does it here).
 */
function buildExample(): void {
  const run = (args: string[]) => {
    try {
      execFileSync('npm', args, { cwd: EXAMPLE, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`npm ${args.join(' ')} in examples/react failed:\n${stdout}\n${stderr}`);
    }
  };
  const installed = join(EXAMPLE, 'node_modules/.package-lock.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < newest(join(EXAMPLE, 'package-lock.json'))) {
    run(['ci', '--no-audit', '--no-fund', '--include=dev']);
  }
  const sources = ['src', 'index.html', 'package-lock.json', 'vite.config.ts', 'codegen.ts', '../../schema.graphql'];
  const built = join(DIST, 'index.html');
  if (!existsSync(built) || statSync(built).mtimeMs < Math.max(...sources.map((s) => newest(join(EXAMPLE, s))))) {
    run(['run', 'build']);
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The built page on its own origin, as an SPA is deployed: any path that is no file is the app. */
async function serveDist(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(DIST, path);
    const found =
      file.startsWith(DIST) && existsSync(file) && statSync(file).isFile() ? file : join(DIST, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[extname(found)] ?? 'application/octet-stream' });
    res.end(readFileSync(found));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(!available)('the React example client in headless Chromium, two users', () => {
  let t: TestServer;
  let browser: Browser;
  let site: { url: string; server: Server };
  const contexts: BrowserContext[] = [];
  /** Requests the pages tried outside loopback (a CDN, a font): the app must need none. */
  const outside: string[] = [];
  beforeAll(async () => {
    buildExample();
    t = await startTestServer();
    site = await serveDist();
    browser = await launchChromium();
  }, 600_000);
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    if (site) await new Promise((done) => site.server.close(done));
    await t?.close();
  });

  /**
   * A browser context of its own (its own storage, so its own session) that reaches only loopback;
   * `prepare` runs on it before the page opens.
   */
  async function signIn(email: string, prepare?: (context: BrowserContext) => Promise<void>): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    await context.route('**/*', (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    await prepare?.(context);
    const page = await context.newPage();
    await page.goto(site.url);
    await page.locator('input[name=api]').fill(`${t.server.url}/graphql`);
    await page.locator('textarea[name=token]').fill(await t.token(email));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page
      .locator('header .me', { hasText: email })
      .waitFor({ timeout: 15_000 })
      .catch(async (err) => {
        throw new Error(`${err}\npage: ${await page.locator('body').innerText()}\nconsole: ${errors.join('\n')}`);
      });
    return page;
  }

  async function openList(page: Page, workspace: string, list: string): Promise<void> {
    await page.locator(`li.workspace[data-name="${workspace}"] .list-link`, { hasText: list }).click();
    await page.locator('.list .status', { hasText: 'Live.' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('.list-name').textContent()).toBe(list);
    expect(await page.locator('.list .error').count()).toBe(0);
  }

  it('signs in with a token, shows accounts and workspaces, a live list with presence, editing and conflicts, and explains access', {
    timeout: 120_000,
  }, async () => {
    const h = listHelpers(t);
    const accountId = await h.account(ADA, [GRACE]);
    const sales = await h.workspace(accountId, ADA, 'OPEN', [GRACE]);
    const listId = await h.list(sales.id, ADA, 'MAIN', 'Pipeline');
    await t.ok(CreateItem, { input: { listId, title: 'Acme renewal' } }, ADA);
    // A closed workspace Grace is not in, with one list shared with her; another closed one
    // with nothing of hers in it; a private one she is not in.
    const board = await h.workspace(accountId, ADA, 'CLOSED');
    const planId = await h.list(board.id, ADA, 'MAIN', 'Plan');
    const graceId = await h.userId(GRACE);
    await h.share(ADA, { listId: planId, role: 'VIEWER', userId: graceId });
    const created = await t.ok(CreateWorkspace, { input: { accountId, name: 'Finance', type: 'CLOSED' } }, ADA);
    if (created.createWorkspace.__typename !== 'CreateWorkspacePayload') throw new Error('createWorkspace failed');
    const financeId = created.createWorkspace.workspace.id;
    await h.list(financeId, ADA, 'MAIN', 'Budget');
    await h.workspace(accountId, ADA, 'PRIVATE');

    // Grace opens the account from her membership, which names it. Both closed workspaces are
    // listed to her with a lock (`locked`), the one with the list shared with her showing that
    // list only; the private one is not listed.
    // Grace's websockets pass through the test, which can drop one and hold the next until it
    // lets it through, and sees what her page sends on each.
    const sockets: { route: WebSocketRoute; sent: string[] }[] = [];
    let gate: Promise<void> = Promise.resolve();
    const grace = await signIn(GRACE, (context) =>
      context.routeWebSocket(/\/graphql$/, async (route) => {
        const sent: string[] = [];
        const held: (string | Buffer)[] = [];
        let server: WebSocketRoute | null = null;
        route.onMessage((message) => {
          sent.push(String(message));
          if (server) server.send(message);
          else held.push(message);
        });
        sockets.push({ route, sent });
        await gate;
        server = route.connectToServer();
        for (const message of held) server.send(message);
      }),
    );
    let listLoads = 0;
    grace.on('request', (r) => {
      if (r.method() === 'POST' && r.postData()?.includes('query ListView(')) listLoads += 1;
    });
    await grace.locator('.memberships li[data-role=MEMBER] small', { hasText: 'MEMBER since' }).waitFor();
    expect(await grace.locator('.memberships li').count()).toBe(1);
    expect(await grace.locator('.memberships li[data-role=MEMBER]').getAttribute('data-account')).toBe(accountId);
    await grace.locator('.memberships li[data-role=MEMBER] button', { hasText: 'Acme' }).click();
    await grace.locator('li.workspace[data-name="WS CLOSED"][data-locked=true] .lock').waitFor({ timeout: 15_000 });
    await grace.locator('li.workspace[data-name="WS CLOSED"] .list-link', { hasText: 'Plan' }).waitFor();
    const finance = grace.locator('li.workspace[data-name="Finance"][data-locked=true]');
    await finance.locator('.lock').waitFor();
    await finance.locator('.locked-note').waitFor({ timeout: 15_000 });
    expect(await finance.locator('.list-link').count()).toBe(0);
    expect(await grace.locator('li.workspace[data-name="WS OPEN"]').getAttribute('data-locked')).toBe('false');
    expect(await grace.locator('li.workspace[data-name="WS OPEN"] .join-request').count()).toBe(0);
    const names = await grace
      .locator('li.workspace')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name));
    expect(names.sort()).toEqual(['Finance', 'WS CLOSED', 'WS OPEN']);

    // She asks to join Finance: its owner sees her pending request.
    await finance.getByRole('button', { name: 'Request to join' }).click();
    await finance.locator('.join-request[data-status=PENDING]').waitFor({ timeout: 15_000 });
    const requests = (await t.ok(JoinRequests, { id: financeId }, ADA)).workspace?.joinRequests;
    expect(requests).toEqual([{ status: 'PENDING', user: { email: GRACE } }]);
    await openList(grace, 'WS OPEN', 'Pipeline');
    await expect.poll(() => grace.locator('.items input').first().inputValue()).toBe('Acme renewal');

    // Ada opens the account from her membership; she owns the closed workspaces, so no lock.
    const ada = await signIn(ADA);
    await ada.locator('.memberships li[data-role=ADMIN] button', { hasText: 'Acme' }).click();
    await ada.locator('li.workspace[data-name="Finance"]').waitFor({ timeout: 15_000 });
    expect(await ada.locator('.memberships button[aria-pressed=true]').textContent()).toBe('Acme');
    expect(await ada.locator('li.workspace[data-name="WS OPEN"]').getAttribute('data-locked')).toBe('false');
    expect(await ada.locator('li.workspace[data-name="Finance"]').getAttribute('data-locked')).toBe('false');
    await ada.locator('li.workspace[data-name="Finance"] .list-link', { hasText: 'Budget' }).waitFor();
    await openList(ada, 'WS OPEN', 'Pipeline');
    await expect.poll(() => grace.locator('.avatars .avatar').count(), { timeout: 15_000 }).toBe(2);
    expect(
      await grace.locator('.avatars .avatar').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.email)),
    ).toEqual(expect.arrayContaining([ADA, GRACE]));

    // Ada starts editing the title: Grace sees the item highlighted as Ada's, and Ada's avatar too.
    const title = ada.locator('.items input').first();
    await title.click();
    await grace.locator('.items li.editing .who', { hasText: `${ADA} is editing` }).waitFor({ timeout: 15_000 });
    await grace.locator(`.avatars .avatar.editing[data-email="${ADA}"]`).waitFor();
    expect(await ada.locator('.items li.editing').count()).toBe(0);

    // She saves: Grace's page shows the new title live, and the highlight goes.
    await title.fill('Acme renewal (signed)');
    await title.press('Enter');
    await expect
      .poll(() => grace.locator('.items input').first().inputValue(), { timeout: 15_000 })
      .toBe('Acme renewal (signed)');
    await expect.poll(() => grace.locator('.items li.editing').count(), { timeout: 15_000 }).toBe(0);
    const saved = (await t.ok(Items, { id: listId }, ADA)).list?.items.edges.map((e) => e.node);
    expect(saved).toEqual([{ title: 'Acme renewal (signed)', updatedBy: { email: ADA } }]);

    // Grace adds an item from her page: it appears on Ada's.
    await grace.locator('input[name=new-item]').fill('Globex pilot');
    await grace.getByRole('button', { name: 'Add' }).click();
    await expect
      .poll(() => ada.locator('.items input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)), {
        timeout: 15_000,
      })
      .toEqual(['Acme renewal (signed)', 'Globex pilot']);

    // Both edit the new item: Ada saves first; Grace's save, made from the version she started
    // from, comes back as a conflict naming the current title, and changes nothing.
    const titles = async () => (await t.ok(Items, { id: listId }, ADA)).list?.items.edges.map((e) => e.node.title);
    const graceGlobex = grace.locator('.items input').nth(1);
    const adaGlobex = ada.locator('.items input').nth(1);
    await graceGlobex.click();
    await adaGlobex.click();
    await adaGlobex.fill('Globex pilot (won)');
    await adaGlobex.press('Enter');
    await expect.poll(titles, { timeout: 15_000 }).toEqual(['Acme renewal (signed)', 'Globex pilot (won)']);
    await graceGlobex.fill('Globex pilot (lost)');
    await graceGlobex.press('Enter');
    await grace.locator('.items li .error', { hasText: 'Globex pilot (won)' }).waitFor({ timeout: 15_000 });
    await expect.poll(() => graceGlobex.inputValue()).toBe('Globex pilot (won)');
    expect(await titles()).toEqual(['Acme renewal (signed)', 'Globex pilot (won)']);

    // Grace's socket drops; Ada adds an item while Grace is away. Grace's page reconnects and
    // resumes her list's stream after the last cursor it saw: the missed item arrives, and the
    // list is not loaded again.
    const loadsBefore = listLoads;
    let release = () => {};
    gate = new Promise((done) => {
      release = done;
    });
    const dropped = sockets.length;
    await sockets[dropped - 1]!.route.close({ code: 1012, reason: 'dropped by the test' });
    await t.ok(CreateItem, { input: { listId, title: 'Initech trial' } }, ADA);
    await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(dropped + 1);
    release();
    const graceTitles = () =>
      grace.locator('.items input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    await expect
      .poll(graceTitles, { timeout: 15_000 })
      .toEqual(['Acme renewal (signed)', 'Globex pilot (won)', 'Initech trial']);
    const resumedAfter = sockets[dropped]!.sent.map((m) => JSON.parse(m))
      .filter((m) => m.type === 'subscribe' && String(m.payload.query).includes('subscription ListEvents'))
      .map((m) => m.payload.variables.after);
    expect(resumedAfter).toContainEqual(expect.any(String));
    expect(listLoads).toBe(loadsBefore);
    expect(await titles()).toEqual(['Acme renewal (signed)', 'Globex pilot (won)', 'Initech trial']);

    // The share dialog explains Ada's own access, then Grace's, as explainAccess answers them.
    const expected = (await t.ok(Explain, { resourceId: listId, userId: graceId }, ADA)).explainAccess?.role;
    expect(expected).toBeTruthy();
    await ada.getByRole('button', { name: 'Share' }).click();
    await ada.locator('.share-dialog .explanation[data-role=CREATOR]').waitFor({ timeout: 15_000 });
    await ada.locator('.share-dialog select[name=explain-user]').selectOption({ label: GRACE });
    const explanation = ada.locator(`.share-dialog .explanation[data-role="${expected}"]`);
    await explanation.waitFor({ timeout: 15_000 });
    expect(await explanation.textContent()).toContain(GRACE);
    expect(await explanation.locator('li.allowed code').count()).toBeGreaterThan(0);

    // Ada leaves: her avatar goes from Grace's page.
    await ada.context().close();
    await expect.poll(() => grace.locator('.avatars .avatar').count(), { timeout: 15_000 }).toBe(1);
    expect(outside).toEqual([]);
  });
});
