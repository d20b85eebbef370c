/**
 * The next instant at which some grant ends (a share, a list link, a workspace membership), as
 * this instance knows it, per database client. Caches that keep decisions across requests (the
 * response cache, read grants of streams) keep nothing beyond it; the expiry sweeper
 * (src/modules/expiry) learns it from the database and from this instance's own writes, and sets a
 * timer to it.
 */
interface Known {
  /** Epoch milliseconds; Infinity when no grant is known to end. */
  next: number;
  /** Moves on with every `noteExpiry`, so a look-up that began before a note cannot undo it. */
  notes: number;
  listeners: Set<(at: number) => void>;
}

const known = new WeakMap<object, Known>();

function of(db: object): Known {
  let k = known.get(db);
  if (!k) {
    k = { next: Number.POSITIVE_INFINITY, notes: 0, listeners: new Set() };
    known.set(db, k);
  }
  return k;
}

/** The next known expiry (epoch ms), or Infinity. */
export function nextExpiry(db: object): number {
  return of(db).next;
}

/** How long something decided now may be kept, at most `ttlMs`: 0 when a grant has already ended. */
export function keepFor(db: object, ttlMs: number): number {
  return Math.max(0, Math.min(ttlMs, nextExpiry(db) - Date.now()));
}

/** Tells the instance a grant ends at `at` (a write of this instance, or the sweeper's look-up). */
export function noteExpiry(db: object, at: Date | number | null | undefined): void {
  if (at == null) return;
  const t = typeof at === 'number' ? at : at.getTime();
  const k = of(db);
  k.notes++;
  if (t >= k.next) return;
  k.next = t;
  for (const listener of k.listeners) listener(t);
}

/** A mark to take before looking the next expiry up in the database (see `setNextExpiry`). */
export function expiryNotes(db: object): number {
  return of(db).notes;
}

/**
 * Replaces what is known with the database's answer (the earliest end, or Infinity), read by a
 * look-up begun at `notes` (`expiryNotes`): an end noted meanwhile may be missing from that
 * answer, so then the answer may only bring the next expiry nearer.
 */
export function setNextExpiry(db: object, at: number, notes: number): void {
  const k = of(db);
  const next = notes === k.notes ? at : Math.min(at, k.next);
  if (next === k.next) return;
  k.next = next;
  for (const listener of k.listeners) listener(next);
}

/** Calls `listener` when the next known expiry changes. */
export function onNextExpiry(db: object, listener: (at: number) => void): () => void {
  const k = of(db);
  k.listeners.add(listener);
  return () => k.listeners.delete(listener);
}
