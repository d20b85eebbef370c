import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../generated/gql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectWs } from '../helpers/ws.ts';

const Me = graphql(`
  query MetricsT_Me { me { email } }
`);
const CreateAccount = graphql(`
  mutation MetricsT_CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { __typename ... on CreateAccountPayload { account { id } } }
  }
`);
const CreateWorkspace = graphql(`
  mutation MetricsT_CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) { __typename ... on CreateWorkspacePayload { workspace { id } } }
  }
`);
const CreateList = graphql(`
  mutation MetricsT_CreateList($input: CreateListInput!) {
    createList(input: $input) { __typename ... on CreateListPayload { list { id } } ... on Error { code } }
  }
`);
const Presence = graphql(`
  subscription MetricsT_Presence($listId: ID!) { presence(listId: $listId) { kind } }
`);
const ListEvents = graphql(`
  subscription MetricsT_ListEvents($listId: ID!) { listEvents(listId: $listId) { __typename } }
`);

const ADA = 'ada@metrics.test';

/** The value of a metric line (`name{labels} value`) in Prometheus' text format, or 0. */
function value(text: string, metric: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
  return line ? Number(line.slice(metric.length + 1)) : 0;
}

describe('Prometheus metrics at /metrics', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: '3' } });
  });
  afterAll(() => t?.close());
  const scrape = async () => {
    const res = await fetch(`${t.server.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('count operations, refusals, cache hits, websockets, subscriptions, presence and events', {
    timeout: 30_000,
  }, async () => {
    await t.ok(Me, {}, ADA); // provisions the user: a write, which ends the cache's generation
    await t.ok(Me, {}, ADA);
    await t.ok(Me, {}, ADA); // from the response cache
    const a = (await t.ok(CreateAccount, { input: { name: 'M' } }, ADA)).createAccount;
    const accountId = a.__typename === 'CreateAccountPayload' ? a.account.id : '';
    const w = (await t.ok(CreateWorkspace, { input: { accountId, name: 'W' } }, ADA)).createWorkspace;
    const workspaceId = w.__typename === 'CreateWorkspacePayload' ? w.workspace.id : '';
    const l = (await t.ok(CreateList, { input: { workspaceId, name: 'L' } }, ADA)).createList;
    const listId = l.__typename === 'CreateListPayload' ? l.list.id : '';
    // The fourth mutation in a minute passes the budget of 3 (a typed error: the operation itself is ok).
    const refused = (await t.ok(CreateList, { input: { workspaceId, name: 'L2' } }, ADA)).createList;
    expect(refused.__typename).toBe('RateLimitedError');
    // Refused before execution: not a GraphQL document.
    await t.server.yoga.fetch('http://sharegraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { nope } }' }),
    });

    const ws = connectWs(t.server.url, await t.token(ADA));
    try {
      const presence = ws.subscribe(Presence, { listId });
      await presence.next();
      const events = ws.subscribe(ListEvents, { listId });
      await events.next();
      const live = await scrape();
      // Executed twice; the third was answered from the cache, which counts it as a hit.
      expect(
        value(live, 'sharegraph_graphql_operations_total{operation="MetricsT_Me",type="query",outcome="ok"}'),
      ).toBe(2);
      expect(value(live, 'sharegraph_response_cache_hits_total')).toBe(1);
      expect(
        value(
          live,
          'sharegraph_graphql_operations_total{operation="MetricsT_CreateList",type="mutation",outcome="ok"}',
        ),
      ).toBe(2);
      expect(value(live, 'sharegraph_rate_limit_refusals_total{budget="mutation"}')).toBe(1);
      expect(
        value(live, 'sharegraph_graphql_operations_total{operation="unknown",type="unknown",outcome="refused"}'),
      ).toBe(1);
      expect(
        value(
          live,
          'sharegraph_graphql_operation_duration_seconds_count{operation="MetricsT_CreateAccount",type="mutation"}',
        ),
      ).toBe(1);
      expect(value(live, 'sharegraph_websockets_open')).toBe(1);
      expect(value(live, 'sharegraph_subscriptions_active{field="presence"}')).toBe(1);
      expect(value(live, 'sharegraph_subscriptions_active{field="listEvents"}')).toBe(1);
      expect(value(live, 'sharegraph_presence_sessions')).toBe(1);
      expect(value(live, 'sharegraph_subscription_events_delivered_total{field="presence"}')).toBeGreaterThanOrEqual(1);
      expect(value(live, 'sharegraph_subscription_events_delivered_total{field="listEvents"}')).toBeGreaterThanOrEqual(
        1,
      );
      expect(
        value(
          live,
          'sharegraph_graphql_operations_total{operation="MetricsT_Presence",type="subscription",outcome="ok"}',
        ),
      ).toBe(1);
    } finally {
      await ws.dispose();
    }
    await expect.poll(async () => value(await scrape(), 'sharegraph_websockets_open')).toBe(0);
    const after = await scrape();
    expect(value(after, 'sharegraph_subscriptions_active{field="presence"}')).toBe(0);
    expect(value(after, 'sharegraph_presence_sessions')).toBe(0);
  });
});
