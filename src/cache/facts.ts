import { LRUCache } from 'lru-cache';
import type { Generations } from './generations.ts';

/**
 * Access facts remembered across requests on this instance for as long as nothing but list
 * content is written (any other write, here or announced by another instance, starts a new
 * generation and forgets them all; a write outside the API is seen within `ttlMs`). The facts of
 * a list for a viewer (its general access, the shares that reach them, their standing in its
 * workspace and account) change only through such writes, so a decision taken on remembered
 * facts is the one the rules would take on fresh ones.
 */
export interface RememberedFacts {
  /** The generation to store under: read it before loading, then `set` with it. */
  generation(): number | null;
  get<T>(key: string): T | undefined;
  /** `endsAt`: the earliest expiry among the facts (a share, a link, a membership); they are forgotten then. */
  set(key: string, value: unknown, generation: number | null, endsAt?: Date | null): void;
}

export function rememberFacts(generations: Generations, ttlMs: number, max = 50_000): RememberedFacts {
  const known = new LRUCache<string, { value: unknown }>({ max, ttl: ttlMs });
  generations.onChange(() => known.clear());
  return {
    generation: () => generations.current(),
    get: <T>(key: string) => (generations.current() === null ? undefined : (known.get(key)?.value as T | undefined)),
    set(key, value, generation, endsAt) {
      // Loaded while a write landed (or with Redis unheard): not to be trusted beyond this request.
      if (generation === null || generation !== generations.current()) return;
      if (!endsAt) return void known.set(key, { value });
      const left = endsAt.getTime() - Date.now();
      // Facts that contain an expiry live no longer than it, so no decision outlives a grant.
      if (left > 0) known.set(key, { value }, { ttl: Math.min(left, ttlMs) });
    },
  };
}
