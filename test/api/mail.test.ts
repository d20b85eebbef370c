import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueMail } from '../../src/mail/mailer.ts';
import { graphql } from '../generated/gql.ts';
import { startTestServer, startTwoInstances, type TestServer } from '../helpers/server.ts';
import { servicesAvailable } from '../helpers/services.ts';
import { type Smtp, smtpServer } from '../helpers/smtp.ts';

const CreateAccount = graphql(`
  mutation MailT_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation MailT_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const Invite = graphql(`
  mutation MailT_Invite($input: InviteToWorkspaceInput!) {
    inviteToWorkspace(input: $input) { __typename ... on Error { code } }
  }
`);
const Accept = graphql(`
  mutation MailT_Accept($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) { __typename ... on AcceptInvitationPayload { workspace { name } } }
  }
`);

const OWNER = 'owner@mail.test';

/** Log lines as the server wrote them. */
function logSink() {
  const lines: string[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
  );
  return { lines, logger };
}

async function workspaceOf(t: TestServer): Promise<string> {
  const a = (await t.ok(CreateAccount, { input: { name: 'Mail' } }, OWNER)).createAccount;
  const accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
  const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'Team' } }, OWNER)).createWorkspace;
  return w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
}

const linkIn = (text: string, prefix: string) =>
  new RegExp(`${prefix.replace(/[.?/]/g, '\\$&')}([A-Za-z0-9_%-]+)`).exec(text)?.[1];

describe.runIf(await servicesAvailable())('the outbox drained by two instances', () => {
  it('sends every mail exactly once, whichever instance claims it', { timeout: 60_000 }, async () => {
    const smtp = await smtpServer();
    const two = await startTwoInstances({ SMTP_URL: smtp.url, MAIL_POLL_MS: '100' });
    try {
      const workspaceId = await workspaceOf(two.a);
      // Mails queued from both sides through the API, and a backlog both drain at once.
      for (let i = 0; i < 6; i++) {
        const t = i % 2 ? two.b : two.a;
        await t.ok(Invite, { input: { workspaceId, email: `api-${i}@mail.test` } }, OWNER);
      }
      const db = two.a.server.services.db;
      await db.$transaction(async (tx) => {
        for (let i = 0; i < 60; i++) {
          await queueMail(tx, {
            kind: 'test.backlog',
            to: `backlog-${i}@mail.test`,
            subject: `Backlog ${i}`,
            text: '.',
          });
        }
      });
      await Promise.all([
        two.a.server.services.mail.flush(),
        two.b.server.services.mail.flush(),
        two.a.server.services.mail.flush(),
        two.b.server.services.mail.flush(),
      ]);
      await expect.poll(() => db.mailOutbox.count({ where: { status: 'SENT' } }), { timeout: 20_000 }).toBe(66);
      const recipients = smtp.received.map((m) => /^To: (\S+)/m.exec(m.data)?.[1]);
      expect(recipients).toHaveLength(66);
      expect(new Set(recipients).size).toBe(66);
      expect(await db.mailOutbox.findMany({ where: { attempts: { not: 1 } } })).toEqual([]);
    } finally {
      await two.close();
      await smtp.close();
    }
  });
});

describe('mail delivery', () => {
  let smtp: Smtp;
  let t: TestServer;
  const log = logSink();
  beforeAll(async () => {
    smtp = await smtpServer();
    t = await startTestServer({
      env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '300', PUBLIC_URL: 'https://app.example.test' },
      logger: log.logger,
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('retries a failing SMTP server with a doubling backoff, then sends once', { timeout: 30_000 }, async () => {
    const workspaceId = await workspaceOf(t);
    smtp.fail(2);
    const before = smtp.received.length;
    const start = Date.now();
    await t.ok(Invite, { input: { workspaceId, email: 'retry@mail.test' } }, OWNER);
    await expect.poll(() => smtp.received.length, { timeout: 20_000 }).toBe(before + 1);
    const [first, second] = smtp.refused;
    const sent = smtp.received.at(-1)?.at ?? 0;
    expect(smtp.refused).toHaveLength(2);
    // 300 ms after the first failure, then 600 ms after the second.
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(300);
    expect(sent - (second ?? 0)).toBeGreaterThanOrEqual(600);
    expect(sent - start).toBeGreaterThanOrEqual(900);
    const row = () => t.server.services.db.mailOutbox.findFirstOrThrow({ where: { to: 'retry@mail.test' } });
    await expect.poll(async () => (await row()).status).toBe('SENT');
    expect(await row()).toMatchObject({ attempts: 3, lastError: 'EMESSAGE 451' });
    const retries = log.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'mail delivery failed; will retry' && l.to === 'retry@mail.test');
    expect(retries.map((l) => [l.kind, l.attempts, l.retryInMs])).toEqual([
      ['invitation.workspace', 1, 300],
      ['invitation.workspace', 2, 600],
    ]);
  });

  it('logs the kind and recipient of each mail, never its link or token', async () => {
    const workspaceId = await workspaceOf(t);
    await t.ok(Invite, { input: { workspaceId, email: 'quiet@mail.test' } }, OWNER);
    const mail = smtp.received.find((m) => m.data.includes('quiet@mail.test'));
    const token = linkIn(mail?.data ?? '', 'https://app.example.test/invitations/');
    expect(token).toBeTruthy();
    expect(log.lines.some((l) => l.includes('"msg":"mail sent"') && l.includes('quiet@mail.test'))).toBe(true);
    expect(log.lines.filter((l) => l.includes(token ?? '?') || l.includes('/invitations/'))).toEqual([]);
    // The token works: it was the real one.
    const accepted = await t.ok(Accept, { input: { token: token ?? '' } }, 'quiet@mail.test');
    expect(accepted.acceptInvitation.__typename).toBe('AcceptInvitationPayload');
  });
});

describe('mail without SMTP, in development', () => {
  let t: TestServer;
  const log = logSink();
  beforeAll(async () => {
    t = await startTestServer({ env: { NODE_ENV: 'development' }, logger: log.logger });
  });
  afterAll(() => t?.close());

  it('lists the outbox with its links at /dev/mail, and logs no token', async () => {
    const workspaceId = await workspaceOf(t);
    await t.ok(Invite, { input: { workspaceId, email: 'dev@mail.test' } }, OWNER);
    const page = await fetch(`${t.server.url}/dev/mail`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const token = linkIn(html, `${t.config.publicUrl}/invitations/`);
    expect(html).toContain('dev@mail.test');
    expect(html).toContain('invitation.workspace');
    expect(token).toBeTruthy();
    expect(log.lines.some((l) => l.includes('mail kept in the outbox') && l.includes('dev@mail.test'))).toBe(true);
    expect(log.lines.filter((l) => l.includes(token ?? '?'))).toEqual([]);
    const invitationPage = await fetch(`${t.server.url}/invitations/${token}`);
    expect(invitationPage.status).toBe(200);
    expect(invitationPage.headers.get('content-type')).toContain('text/html');
    expect(await invitationPage.text()).toContain('acceptInvitation');
  });
});

describe('invitation links', () => {
  it('follow INVITATION_URL, and /dev/mail is not served outside development', async () => {
    const t = await startTestServer({ env: { INVITATION_URL: 'https://spa.example.test/join?invitation={token}' } });
    try {
      const workspaceId = await workspaceOf(t);
      await t.ok(Invite, { input: { workspaceId, email: 'spa@mail.test' } }, OWNER);
      const row = await t.server.services.db.mailOutbox.findFirstOrThrow({ where: { to: 'spa@mail.test' } });
      const token = linkIn(row.text, 'https://spa.example.test/join?invitation=');
      expect(row.link).toBe(`https://spa.example.test/join?invitation=${token}`);
      const accepted = await t.ok(Accept, { input: { token: token ?? '' } }, 'spa@mail.test');
      expect(accepted.acceptInvitation.__typename).toBe('AcceptInvitationPayload');
      expect((await fetch(`${t.server.url}/dev/mail`)).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
