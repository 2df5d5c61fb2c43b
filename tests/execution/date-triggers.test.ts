import { describe, expect, it } from 'vitest';
import { decideEntry, type Plan, type PlanTrigger } from '../../core/index.js';
import { dateDue } from '../../engine/audience.js';
import { planOf } from '../core/examples.js';

type DateTrigger = Extract<PlanTrigger, { type: 'date' }>;

const birthdayJourney = (offset?: string): Plan =>
  planOf({
    id: 'birthday',
    name: 'Birthday',
    triggers: [
      { type: 'date', attribute: 'birthday', yearly: true, ...(offset ? { offset } : {}) },
    ],
    steps: [{ id: 'card', type: 'sendEmail', template: 'tips' }],
  });
const dateTrigger = (plan: Plan) => plan.triggers[0] as DateTrigger;
const due = (plan: Plan, birthday: string, today: string) =>
  dateDue(dateTrigger(plan), { contact: { birthday } }, 'UTC', Date.parse(`${today}T09:00:00Z`));

/**
 * Yearly date triggers (birthdays, anniversaries), run once a day: a contact is due on this
 * year's date of their attribute, plus the trigger's offset, and enters once per such date.
 */
describe('date triggers', () => {
  it('enrols a contact once a year, every year, not once ever', () => {
    const plan = birthdayJourney();
    const enter = (date: string, history: { entryKey: string }[]) =>
      decideEntry(plan, {
        facts: { contact: { birthday: '1990-12-07' } },
        trigger: { name: '$date', properties: { date } },
        history: history.map((h) => ({ ...h, startedAt: 0, endedAt: 1 })),
        now: Date.parse(`${date}T09:00:00Z`),
      });
    expect(enter('2026-12-07', [])).toEqual({ enroll: true, entryKey: '2026-12-07' });
    // The next year's birthday is a new entry; the same day's second run is not.
    expect(enter('2027-12-07', [{ entryKey: '2026-12-07' }])).toEqual({
      enroll: true,
      entryKey: '2027-12-07',
    });
    expect(enter('2027-12-07', [{ entryKey: '2026-12-07' }, { entryKey: '2027-12-07' }])).toEqual({
      enroll: false,
      reason: 'already-enrolled',
    });
  });

  it('finds 29 February on the 28th in other years, and applies an offset to this year’s date', () => {
    const plan = birthdayJourney();
    expect(due(plan, '1992-02-29', '2027-02-28')).toBe('2027-02-28');
    expect(due(plan, '1992-02-29', '2028-02-29')).toBe('2028-02-29');
    expect(due(plan, '1992-02-29', '2028-02-28')).toBeNull();
    const weekBefore = birthdayJourney('-P7D');
    // 5 March, a week before, in a leap year: 27 February (not the 26th of 1990's calendar).
    expect(due(weekBefore, '1990-03-05', '2028-02-27')).toBe('2028-02-27');
    expect(due(weekBefore, '1990-03-05', '2028-02-26')).toBeNull();
    // An offset across the new year: 31 December plus a day is 1 January.
    expect(due(birthdayJourney('P1D'), '1985-12-31', '2027-01-01')).toBe('2027-01-01');
  });
  it('reads a date with a time on the day it is in the contact’s zone, a date alone as that day', () => {
    const renewal = planOf({
      id: 'renewal',
      name: 'Renewal',
      triggers: [{ type: 'date', attribute: 'renewsAt', offset: '-P7D' }],
      steps: [{ id: 'remind', type: 'sendEmail', template: 'tips' }],
    });
    const at = (renewsAt: string, zone: string, now: string) =>
      dateDue(dateTrigger(renewal), { contact: { renewsAt } }, zone, Date.parse(now));
    // 1 March 02:00 in Tokyo (28 February 17:00 UTC): a week before is 22 February in Tokyo.
    const tokyo = '2026-03-01T02:00:00+09:00';
    expect(at(tokyo, 'Asia/Tokyo', '2026-02-22T09:00:00+09:00')).toBe('2026-02-22');
    expect(at(tokyo, 'Asia/Tokyo', '2026-02-21T09:00:00+09:00')).toBeNull();
    // 1 March 20:00 in New York (2 March 01:00 UTC): a week before is 22 February there.
    const newYork = '2026-03-01T20:00:00-05:00';
    expect(at(newYork, 'America/New_York', '2026-02-22T09:00:00-05:00')).toBe('2026-02-22');
    expect(at(newYork, 'America/New_York', '2026-02-23T09:00:00-05:00')).toBeNull();
    // A moment at midnight UTC is still a moment: 28 February 19:00 in New York.
    const evening = '2026-02-28T19:00:00-05:00';
    expect(at(evening, 'America/New_York', '2026-02-21T09:00:00-05:00')).toBe('2026-02-21');
    expect(at(evening, 'America/New_York', '2026-02-22T09:00:00-05:00')).toBeNull();
    // A date alone is that day in every zone.
    expect(at('2026-03-01', 'America/New_York', '2026-02-22T09:00:00-05:00')).toBe('2026-02-22');
    expect(at('2026-03-01', 'Asia/Tokyo', '2026-02-22T09:00:00+09:00')).toBe('2026-02-22');
  });
});
