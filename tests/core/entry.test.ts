import { describe, expect, it } from 'vitest';
import { decideEntry, type PastEnrollment } from '../../core/index.js';
import { DAY, HOUR, journey, planOf, T0 } from './examples.js';

const planWith = (entry: Record<string, unknown>) =>
  planOf(journey([{ id: 'end', type: 'exit' }], { entry }));
const ask = (
  entry: Record<string, unknown>,
  history: PastEnrollment[],
  properties: Record<string, unknown> = {},
) =>
  decideEntry(planWith(entry), {
    facts: { contact: { plan: 'pro' } },
    trigger: { name: 'go', properties },
    history,
    now: T0,
  });
const ended = (entryKey: string, daysAgo: number): PastEnrollment => ({
  entryKey,
  startedAt: T0 - daysAgo * DAY,
  endedAt: T0 - daysAgo * DAY + 1,
});
const running: PastEnrollment = { entryKey: 'entry-1', startedAt: T0 - DAY, endedAt: null };

describe('entry rules', () => {
  it('enrolls once ever by default', () => {
    expect(ask({}, [])).toEqual({ enroll: true, entryKey: 'once' });
    expect(ask({}, [ended('once', 3)])).toEqual({ enroll: false, reason: 'already-enrolled' });
  });

  it('enrolls again after exit, every time, or after a cool-down', () => {
    expect(ask({ reentry: 'afterExit' }, [running])).toMatchObject({ enroll: false });
    expect(ask({ reentry: 'afterExit' }, [ended('entry-1', 3)])).toEqual({
      enroll: true,
      entryKey: 'entry-2',
    });
    expect(ask({ reentry: 'everyTime' }, [running])).toEqual({ enroll: true, entryKey: 'entry-2' });
    expect(ask({ reentry: 'coolDown', coolDown: 'P30D' }, [ended('entry-1', 10)])).toEqual({
      enroll: false,
      reason: 'cooling-down',
    });
    expect(ask({ reentry: 'coolDown', coolDown: 'P30D' }, [ended('entry-1', 31)])).toMatchObject({
      enroll: true,
    });
  });

  it('caps entries and checks the entry condition', () => {
    expect(ask({ reentry: 'everyTime', maxEntries: 1 }, [ended('entry-1', 1)])).toEqual({
      enroll: false,
      reason: 'max-entries',
    });
    expect(
      ask({ condition: { type: 'equals', field: 'contact.plan', value: 'free' } }, []),
    ).toEqual({ enroll: false, reason: 'condition-not-met' });
  });

  it('makes distinct entry keys distinct enrollments and ignores a repeat of a running key', () => {
    const entry = { reentry: 'everyTime', key: 'trigger.order_id' };
    expect(ask(entry, [], { order_id: 'o-1' })).toEqual({ enroll: true, entryKey: 'o-1' });
    expect(
      ask(entry, [{ entryKey: 'o-1', startedAt: T0, endedAt: null }], { order_id: 'o-1' }),
    ).toMatchObject({ enroll: false });
    expect(
      ask(entry, [{ entryKey: 'o-1', startedAt: T0, endedAt: null }], { order_id: 'o-2' }),
    ).toEqual({ enroll: true, entryKey: 'o-2' });
    expect(ask(entry, [], {})).toEqual({ enroll: false, reason: 'missing-entry-key' });
  });

  it('numbers repeats of a key and counts them as entries of it: a third, a running second', () => {
    const entry = { reentry: 'afterExit', key: 'trigger.cart_id' };
    const cart = { cart_id: 'k1' };
    const first = { entryKey: 'k1', startedAt: T0 - 2 * DAY, endedAt: T0 - DAY };
    const second = { entryKey: 'k1#2', startedAt: T0 - DAY, endedAt: T0 - HOUR };
    expect(ask(entry, [first], cart)).toEqual({ enroll: true, entryKey: 'k1#2', baseKey: 'k1' });
    // The third entry is `k1#3` (it proposed `k1#2` again, whose id was taken: refused for good).
    expect(ask(entry, [first, second], cart)).toEqual({
      enroll: true,
      entryKey: 'k1#3',
      baseKey: 'k1',
    });
    // A running repeat is a running entry of the key.
    expect(ask(entry, [first, { ...second, endedAt: null }], cart)).toEqual({
      enroll: false,
      reason: 'already-enrolled',
    });
  });
});
