/** A GraphQL response as the benches read it. */
export interface GqlResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/**
 * Runs one operation over HTTP against `url` (a base URL like `http://127.0.0.1:4000`, or the
 * `/graphql` endpoint itself) as the bearer of `token`, or anonymously. Pass the `data` shape as `T`. Throws on a transport
 * error or on GraphQL errors, so fixture seeding fails loudly; returns `data`.
 */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string | null,
): Promise<T> {
  const endpoint = url.endsWith('/graphql') ? url : `${url.replace(/\/$/, '')}/graphql`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json().catch(() => ({}))) as GqlResult<T>;
  if (!res.ok || body.errors?.length || !body.data)
    throw new Error(`GraphQL failed (${res.status}): ${JSON.stringify(body.errors ?? body)}\n${query}`);
  return body.data;
}

/**
 * Like `gql`, for a mutation whose result is a `<Verb><Noun>Result` union: throws when the
 * field named `field` resolved to an error type (one with a `code`), otherwise returns it.
 */
export async function mutate<T = Record<string, unknown>>(
  url: string,
  field: string,
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<T> {
  const data = await gql(url, query, variables, token);
  const result = data[field] as (T & { code?: string; message?: string }) | undefined;
  if (!result || result.code) throw new Error(`${field} failed: ${JSON.stringify(result)}`);
  return result;
}
