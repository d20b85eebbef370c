import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { chromiumAvailable, launchChromium, loopbackPage } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CreateAccount = graphql(`
  mutation InvPage_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation InvPage_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const Invite = graphql(`
  mutation InvPage_Invite($input: InviteToWorkspaceInput!) { inviteToWorkspace(input: $input) { __typename } }
`);
const Workspace = graphql(`
  query InvPage_Workspace($id: ID!) { workspace(id: $id) { viewerRole } }
`);

const OWNER = 'owner@invitation-page.test';
const INVITEE = 'invitee@invitation-page.test';

describe.skipIf(!chromiumAvailable)('the invitation page in Chromium, with no network but loopback', () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('previews the invitation of a mailed link and accepts it for the signed-in person', {
    timeout: 60_000,
  }, async () => {
    const a = (await t.ok(CreateAccount, { input: { name: 'Initech' } }, OWNER)).createAccount;
    const accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
    const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Launch', type: 'CLOSED' } }, OWNER))
      .createWorkspace;
    const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
    await t.ok(Invite, { input: { workspaceId, email: INVITEE } }, OWNER);
    const mail = await t.server.services.db.mailOutbox.findFirstOrThrow({ where: { to: INVITEE } });
    expect(mail.link?.startsWith(`${t.config.publicUrl}/invitations/`)).toBe(true);

    const { page, blocked } = await loopbackPage(browser);
    // The test server's PUBLIC_URL names port 0 (it listens on a free one).
    await page.goto((mail.link ?? '').replace(t.config.publicUrl, t.server.url));
    await expect
      .poll(() => page.locator('#summary').textContent(), { timeout: 15_000 })
      .toBe(`${OWNER} invited ${INVITEE} to the workspace Launch of Initech.`);
    await page.locator('#bearer').fill(await t.token(INVITEE));
    await page.locator('#accept').click();
    await expect
      .poll(() => page.locator('#status').textContent(), { timeout: 15_000 })
      .toBe('Accepted: you joined Launch.');
    expect((await t.ok(Workspace, { id: workspaceId }, INVITEE)).workspace?.viewerRole).toBe('MEMBER');

    // The link is single use: opened again, it says so.
    await page.reload();
    await expect
      .poll(() => page.locator('#summary').textContent(), { timeout: 15_000 })
      .toContain('not valid any more');
    expect(blocked).toEqual([]);
    await page.close();
  });
});
