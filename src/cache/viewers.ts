import { LRUCache } from 'lru-cache';
import { hasExpired } from '../auth/jwt.ts';
import type { Viewer } from '../context.ts';
import type { Generations } from './generations.ts';

/**
 * Remembers whom each token names for as long as nothing is written: a token is still verified
 * for its expiry at every use, but its user's row (revocation, anonymisation) is read again only
 * after a write, which is the only way either can change.
 */
export function rememberViewers(
  generations: Generations,
  authenticate: (token: string) => Promise<Viewer>,
  max = 10_000,
): (token: string) => Promise<Viewer> {
  const known = new LRUCache<string, { generation: number; viewer: Viewer }>({ max });
  generations.onChange(() => known.clear());
  return async (token) => {
    const generation = generations.current();
    const hit = known.get(token);
    if (hit && hit.generation === generation && !hasExpired(hit.viewer.tokenExpiresAt)) return hit.viewer;
    const viewer = await authenticate(token);
    if (generation !== null) known.set(token, { generation, viewer });
    return viewer;
  };
}
