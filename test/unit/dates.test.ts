import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoString } from '../../src/builder.ts';
import { utcDate } from '../../src/db/client.ts';

/** A Date as PostgreSQL writes a timestamp without time zone: fraction without its trailing zeros. */
function pgText(date: Date): string {
  const iso = date.toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
}

describe('utcDate: a timestamp without time zone, read as UTC', () => {
  it('reads every timestamp(3) of years 1000 to 9999 as the instant it names', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1000-01-01T00:00:00.000Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        (date) => {
          expect(utcDate(pgText(date)).getTime()).toBe(date.getTime());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['2026-12-06 10:19:22.781', '2026-12-06T10:19:22.781Z'],
    ['2026-01-01 00:00:00', '2026-01-01T00:00:00.000Z'],
    ['1999-12-31 23:59:59.5', '1999-12-31T23:59:59.500Z'],
    ['2024-02-29 12:00:00.05', '2024-02-29T12:00:00.050Z'],
    // Not the short form: Date's own parser, as before.
    ['2026-12-06 10:19:22.781456', new Date('2026-12-06T10:19:22.781456Z').toISOString()],
    ['0999-12-31 23:59:59', new Date('0999-12-31T23:59:59Z').toISOString()],
  ])('%s', (text, iso) => {
    expect(utcDate(text).toISOString()).toBe(iso);
  });

  it("reads what is not the short form, or no instant, as Date's parser does", () => {
    expect(Number.isNaN(utcDate('infinity').getTime())).toBe(true);
    for (const text of [
      '2026-13-05 10:00:00',
      '2026-02-30 10:00:00',
      '2026-12-06 24:00:00',
      '2026-12-06T10:00:00',
      '2026-12-06 10:x0:00',
      '2026-12-06 10:00:00.x',
    ]) {
      expect(utcDate(text).getTime(), text).toBe(new Date(`${text.slice(0, 10)}T${text.slice(11)}Z`).getTime());
    }
  });
});

describe('isoString: a Date as toISOString writes it', () => {
  it('agrees with toISOString for every instant, of any year', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (date) => {
        expect(isoString(date)).toBe(date.toISOString());
      }),
      { numRuns: 5000 },
    );
    for (const iso of ['0999-12-31T23:59:59.999Z', '1000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      expect(isoString(new Date(iso))).toBe(iso);
    }
    expect(isoString(new Date('+010000-01-01T00:00:00.000Z'))).toBe('+010000-01-01T00:00:00.000Z');
  });
});
