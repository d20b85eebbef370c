import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium, loopbackPage } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ADA = 'ada@graphiql.test';

describe.skipIf(!chromiumAvailable)('GraphiQL, served by the server with no network but loopback', () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestServer({ env: { NODE_ENV: 'development' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders its editor on a first query that says how to get a token, and runs `{ me { email } }` with one', {
    timeout: 90_000,
  }, async () => {
    const token = await t.token(ADA);
    const { page, blocked } = await loopbackPage(browser);
    await page.goto(`${t.server.url}/graphql`, { waitUntil: 'load' });
    const query = page.locator('.graphiql-query-editor .monaco-editor').first();
    await query.waitFor({ timeout: 30_000 });
    // Monaco renders spaces as no-break spaces.
    const text = async () => (await query.textContent())?.replace(/\s/g, ' ');
    await expect.poll(text, { timeout: 15_000 }).toContain('npm run token -- ada@demo.sharegraph.dev');

    await query.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('{ me { email } }');

    await page
      .getByRole('button', { name: /headers/i })
      .first()
      .click();
    const headers = page.locator('.graphiql-editor-tool .monaco-editor').last();
    await headers.waitFor({ timeout: 15_000 });
    await headers.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));

    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await expect.poll(() => result.textContent(), { timeout: 15_000 }).toContain(ADA);
    expect(blocked).toEqual([]);
    await page.close();
  });
});
