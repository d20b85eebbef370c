import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracingRequested } from '../../src/telemetry/tracing.ts';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

const Accounts = graphql(`
  query TrT_Accounts { me { email accounts { role } } }
`);
const CreateAccount = graphql(`
  mutation TrT_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation TrT_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation TrT_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } }
  }
`);
const ListPage = graphql(`
  query TrT_ListPage($id: ID!) { list(id: $id) { name items(first: 5) { edges { node { title } } } } }
`);
const TrCreateItem = graphql(`
  mutation TrT_CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { __typename ... on CreateItemPayload { item { id version } } }
  }
`);
const TrUpdateItem = graphql(`
  mutation TrT_UpdateItem($input: UpdateItemInput!) {
    updateItem(input: $input) {
      __typename
      ... on UpdateItemPayload { item { title version } }
      ... on Error { code }
    }
  }
`);
const Presence = graphql(`
  subscription TrT_Presence($listId: ID!) { presence(listId: $listId) { kind } }
`);

const ADA = 'ada@tracing.test';

describe('OpenTelemetry traces', () => {
  // What an OTLP exporter would be sent, kept in memory (the provider main.ts registers when the
  // OTEL_* variables ask for traces is the same, with an OTLP exporter instead).
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let t: TestServer;
  beforeAll(async () => {
    provider.register();
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
    await provider.shutdown();
    trace.disable();
  });
  /** A list named L in a workspace W of a new account `name` of Ada's. */
  const newList = async (name: string) => {
    const a = (await t.ok(CreateAccount, { input: { name } }, ADA)).createAccount;
    const accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
    const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'W' } }, ADA)).createWorkspace;
    const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
    const l = (await t.ok(CreateList, { input: { workspaceId, name: 'L' } }, ADA)).createList;
    return l.__typename === 'CreateListPayload' ? l.list.id : '';
  };

  it('are off unless the OTEL_* variables ask for them', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false);
  });

  it("show a query's span with its SQL statements as children", async () => {
    await t.ok(CreateAccount, { input: { name: 'Traced' } }, ADA);
    exporter.reset();
    await t.ok(Accounts, {}, ADA);
    const spans = exporter.getFinishedSpans();
    const query = spans.find((s) => s.name === 'query TrT_Accounts');
    expect(query?.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'TrT_Accounts',
    });
    const statements = spans.filter(
      (s) => s.name === 'db.statement' && s.parentSpanContext?.spanId === query?.spanContext().spanId,
    );
    expect(statements.length).toBeGreaterThan(0);
    expect(String(statements[0]?.attributes['db.statement'])).toMatch(/SELECT/);
  });

  it("show a list page's one statement, read around Prisma's client on PostgreSQL, as its query's child", async () => {
    const id = await newList('Paged');
    exporter.reset();
    expect((await t.ok(ListPage, { id }, ADA)).list?.name).toBe('L');
    const spans = exporter.getFinishedSpans();
    const query = spans.find((s) => s.name === 'query TrT_ListPage');
    const statements = spans
      .filter((s) => s.name === 'db.statement' && s.parentSpanContext?.spanId === query?.spanContext().spanId)
      .map((s) => String(s.attributes['db.statement']));
    expect(statements).toEqual([expect.stringMatching(/^SELECT [\s\S]*FROM "Item" [\s\S]*\/\* prepared \*\/$/)]);
  });

  it('show an item change alone as one statement that PostgreSQL keeps prepared, past the plans it tries first', async () => {
    const listId = await newList('Edited');
    /** The list-content writes of the last operation named `name`. */
    const writesOf = (name: string) => {
      const spans = exporter.getFinishedSpans();
      const operation = spans.filter((s) => s.name === name).at(-1);
      return spans
        .filter((s) => s.name === 'db.statement' && s.parentSpanContext?.spanId === operation?.spanContext().spanId)
        .map((s) => String(s.attributes['db.statement']))
        .filter((statement) => statement.startsWith('/* list-content */'));
    };
    const change = /^\/\* list-content \*\/ WITH "change_0" AS [\s\S]*\/\* prepared \*\/$/;
    exporter.reset();
    const created = (await t.ok(TrCreateItem, { input: { listId, title: 'v1', fields: {} } }, ADA)).createItem;
    expect(created.__typename).toBe('CreateItemPayload');
    const item = created.__typename === 'CreateItemPayload' ? created.item : { id: '', version: 0 };
    expect(writesOf('mutation TrT_CreateItem')).toEqual([expect.stringMatching(change)]);
    // PostgreSQL plans a prepared statement for its values five times, then for any: the eighth
    // edit runs on the plan for any item, and still finds this one alone.
    for (let version = 1; version <= 8; version++) {
      exporter.reset();
      const input = { id: item.id, expectedVersion: version, patch: { title: `v${version + 1}` } };
      expect((await t.ok(TrUpdateItem, { input }, ADA)).updateItem).toEqual({
        __typename: 'UpdateItemPayload',
        item: { title: `v${version + 1}`, version: version + 1 },
      });
      expect(writesOf('mutation TrT_UpdateItem')).toEqual([expect.stringMatching(change)]);
    }
    const stale = { id: item.id, expectedVersion: 3, patch: { title: 'late' } };
    expect((await t.ok(TrUpdateItem, { input: stale }, ADA)).updateItem).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
  });

  it("show a websocket subscription's span and a span for each event it delivers", async () => {
    const listId = await newList('Live');
    exporter.reset();
    const ws = connectWs(t.server.url, await t.token(ADA));
    try {
      const sub = ws.subscribe(Presence, { listId });
      expect((await sub.next()).presence.kind).toBe('SNAPSHOT');
      await expect
        .poll(() => exporter.getFinishedSpans().map((s) => s.name))
        .toEqual(expect.arrayContaining(['subscription TrT_Presence', 'presence event']));
      const subscribe = exporter.getFinishedSpans().find((s) => s.name === 'subscription TrT_Presence');
      expect(subscribe?.attributes['graphql.operation.type']).toBe('subscription');
    } finally {
      await ws.dispose();
    }
  });
});
