const memo = new WeakMap<object, Map<string, unknown>>();

/**
 * Work that every subscriber of one event would otherwise repeat, done once per instance.
 *
 * The event target hands every subscriber of a topic on this instance the same payload object,
 * so keying on it shares a reload (the item of an ItemUpdated, the roster after a JOINED) among
 * hundreds of subscribers instead of one Redis or SQL round trip each. The memo lives as long as
 * the event object does. `key` tells apart different work on one event (e.g. two selections).
 */
export function perEvent<T>(event: object, key: string, compute: () => T): T {
  let results = memo.get(event);
  if (!results) {
    results = new Map();
    memo.set(event, results);
  }
  if (results.has(key)) return results.get(key) as T;
  const value = compute();
  results.set(key, value);
  if (value instanceof Promise) {
    // A failure is not remembered: the next subscriber tries again.
    value.catch(() => {
      if (results.get(key) === value) results.delete(key);
    });
  }
  return value;
}

const recentMemo = new WeakMap<object, Map<string, { at: number; value: unknown }>>();

/**
 * Like `perEvent`, for work whose result may be reused for `ttlMs` by anyone in `scope` (e.g. the
 * database client): a presence roster shows the same people to every subscriber of a list, so
 * their rows are loaded once per `ttlMs` on this instance, not once per entry per subscriber.
 */
export function recent<T>(scope: object, key: string, ttlMs: number, compute: () => T): T {
  let results = recentMemo.get(scope);
  if (!results) {
    results = new Map();
    recentMemo.set(scope, results);
  }
  const now = Date.now();
  const hit = results.get(key);
  if (hit && now - hit.at < ttlMs) return hit.value as T;
  if (results.size >= 10_000) for (const [k, v] of results) if (now - v.at >= ttlMs) results.delete(k);
  const value = compute();
  const entry = { at: now, value };
  results.set(key, entry);
  if (value instanceof Promise) {
    value.catch(() => {
      if (results.get(key) === entry) results.delete(key);
    });
  }
  return value;
}
