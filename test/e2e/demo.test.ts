import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { chromiumAvailable, launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CreateAccount = graphql(`
  mutation E2e_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const AddMember = graphql(`
  mutation E2e_AddMember($input: AddAccountMemberInput!) { addAccountMember(input: $input) { __typename } }
`);
const CreateWorkspace = graphql(`
  mutation E2e_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const Join = graphql(`
  mutation E2e_Join($input: JoinWorkspaceInput!) { joinWorkspace(input: $input) { __typename } }
`);
const CreateList = graphql(`
  mutation E2e_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } }
  }
`);
const CreateItem = graphql(`
  mutation E2e_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } }
  }
`);
const UpdateItem = graphql(`
  mutation E2e_UpdateItem($input: UpdateItemInput!) { updateItem(input: $input) { __typename } }
`);

const ADA = 'ada@e2e.test';
const GRACE = 'grace@e2e.test';

describe.skipIf(!chromiumAvailable)('the demo presence page in headless Chromium', () => {
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

  it('shows items live, the avatars of who is viewing, and a highlight on the item being edited', {
    timeout: 90_000,
  }, async () => {
    const a = (await t.ok(CreateAccount, { input: { name: 'E2E' } }, ADA)).createAccount;
    const accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
    await t.ok(AddMember, { input: { accountId, email: GRACE, role: 'MEMBER' } }, ADA);
    const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Sales' } }, ADA)).createWorkspace;
    const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
    await t.ok(Join, { input: { workspaceId } }, GRACE);
    const l = (await t.ok(CreateList, { input: { workspaceId, name: 'Pipeline' } }, ADA)).createList;
    const listId = l.__typename === 'CreateListPayload' ? l.list.id : '';
    const created = (await t.ok(CreateItem, { input: { listId, title: 'Acme renewal' } }, ADA)).createItem;
    const item = created.__typename === 'CreateItemPayload' ? created.item : { id: '', version: 0 };

    const open = async (email: string) => {
      const page = await browser.newPage();
      const url = `${t.server.url}/demo?token=${encodeURIComponent(await t.token(email))}&list=${encodeURIComponent(listId)}`;
      await page.goto(url);
      await page.locator('#status', { hasText: 'Live.' }).waitFor({ timeout: 15_000 });
      return page;
    };
    const grace = await open(GRACE);
    await expect
      .poll(() => grace.locator('#items input').first().inputValue(), { timeout: 15_000 })
      .toBe('Acme renewal');
    expect(await grace.locator('#name').textContent()).toBe('Pipeline');

    const ada = await open(ADA);
    await expect.poll(() => grace.locator('#avatars .avatar').count(), { timeout: 15_000 }).toBe(2);
    expect(
      await grace.locator('#avatars .avatar').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.email)),
    ).toEqual(expect.arrayContaining([ADA, GRACE]));

    // Ada focuses the title: Grace sees the item highlighted as being edited by her.
    // A focus event, dispatched directly: a page in the background may not receive real focus.
    await ada.locator('#items input').first().dispatchEvent('focus');
    await grace.locator('#items li.editing').waitFor({ timeout: 15_000 });
    expect(await grace.locator('#items li.editing .who').textContent()).toContain('is editing');

    // A change made anywhere arrives live.
    await t.ok(
      UpdateItem,
      { input: { id: item.id, expectedVersion: item.version, patch: { title: 'Acme renewal (signed)' } } },
      GRACE,
    );
    await expect
      .poll(() => ada.locator('#items input').first().inputValue(), { timeout: 15_000 })
      .toBe('Acme renewal (signed)');
    await t.ok(CreateItem, { input: { listId, title: 'Globex pilot' } }, ADA);
    await expect.poll(() => grace.locator('#items input').count(), { timeout: 15_000 }).toBe(2);

    // Ada leaves: her avatar goes.
    await ada.close();
    await expect.poll(() => grace.locator('#avatars .avatar').count(), { timeout: 15_000 }).toBe(1);
    await grace.close();
  });
});
