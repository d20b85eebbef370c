import { describe, expect, it } from 'vitest';
import { FROM_DATABASE, parseRevision, serves, stricter } from '../../src/cache/revisions.ts';
import { ValidationError } from '../../src/errors.ts';

const r = (epoch: string, n: number) => ({ epoch, n });

describe('access revision tokens', () => {
  it.each([
    ['a1b2c3d4.0', r('a1b2c3d4', 0)],
    ['a1b2c3d4.42', r('a1b2c3d4', 42)],
    ['none.7', r('none', 7)],
    ['z.999999999999999', r('z', 999_999_999_999_999)],
  ])('reads %s', (token, revision) => {
    expect(parseRevision(token, ['minRevision'])).toEqual(revision);
  });

  it.each([
    '',
    'a1b2c3d4',
    '.5',
    'a1b2c3d4.',
    'a1b2c3d4.-1',
    'a1b2c3d4.1.2',
    'A1B2.3',
    'a1b2c3d4.1e3',
    'a1b2c3d4.1234567890123456',
    ' a1b2c3d4.1',
  ])('refuses %j with a ValidationError naming where it came from', (token) => {
    expect(() => parseRevision(token, ['X-Access-Revision'])).toThrow(ValidationError);
    try {
      parseRevision(token, ['X-Access-Revision']);
    } catch (err) {
      expect((err as ValidationError).path).toEqual(['X-Access-Revision']);
    }
  });
});

describe('which kept things serve a requirement', () => {
  it.each([
    [null, null, true],
    [r('e', 3), null, true],
    [null, r('e', 3), false],
    [r('e', 3), r('e', 3), true],
    [r('e', 4), r('e', 3), true],
    [r('e', 2), r('e', 3), false],
    [r('f', 9), r('e', 3), false],
    [r('e', 9), FROM_DATABASE, false],
  ] as const)('kept %j, needed %j: %s', (kept, needed, expected) => {
    expect(serves(kept, needed)).toBe(expected);
  });

  it.each([
    [null, null, null],
    [r('e', 3), null, r('e', 3)],
    [null, r('e', 3), r('e', 3)],
    [r('e', 3), r('e', 5), r('e', 5)],
    [r('e', 5), r('e', 3), r('e', 5)],
    [r('e', 5), r('f', 3), FROM_DATABASE],
    [FROM_DATABASE, r('e', 3), FROM_DATABASE],
  ] as const)('the stricter of %j and %j is %j', (a, b, expected) => {
    expect(stricter(a, b)).toEqual(expected);
  });
});
