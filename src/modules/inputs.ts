import { z } from 'zod';

// PostgreSQL stores neither NUL characters (text: 22021; jsonb: 22P05) nor unpaired UTF-16
// surrogates (jsonb rejects their escapes). Unchecked, such input reaches the database and fails
// there as an unexpected error; checked here, it is a ValidationError naming the field.
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether PostgreSQL can store the string as text or inside jsonb. */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !UNPAIRED_SURROGATE.test(s);
}

const STORABLE = { message: 'Must not contain NUL or unpaired surrogate characters' };

/** A string of at most `max` characters that PostgreSQL can store. */
export function text(max: number): z.ZodString {
  return z.string().max(max).refine(isStorableText, STORABLE);
}

/** A trimmed, non-empty name or title of at most `max` characters. */
export function name(max: number): z.ZodString {
  return z.string().trim().min(1).max(max).refine(isStorableText, STORABLE);
}

/** How deep client JSON may nest: deep enough for any real document, shallow enough for every recursive walk. */
export const JSON_MAX_DEPTH = 32;

/** Why a JSON value cannot be stored, or null when it can. Iterative, so no input overflows the stack. */
function jsonProblem(value: unknown): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v === 'string') {
      if (!isStorableText(v)) return STORABLE.message;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= JSON_MAX_DEPTH) return `Must not nest deeper than ${JSON_MAX_DEPTH} levels`;
      for (const [k, child] of Object.entries(v)) {
        if (!isStorableText(k)) return STORABLE.message;
        stack.push([child, depth + 1]);
      }
    } else if (typeof v === 'number' && !Number.isFinite(v)) {
      return 'Numbers must be finite';
    }
  }
  return null;
}

/** A JSON object (not an array or a scalar) that PostgreSQL can store as jsonb. */
export const jsonObject = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const problem = jsonProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** An instant still ahead: when a grant (share, link, membership) ends. A past one is refused. */
export function futureInstant() {
  return z.date().refine((d) => d.getTime() > Date.now(), { message: 'Must be in the future' });
}
