import { describe, expect, it } from 'vitest';
import { simulate, type Plan } from '../../core/index.js';
import { decideSend, nextCapSlot } from '../../mail/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
// Monday 2026-03-02 10:00 UTC
const MONDAY_10 = Date.UTC(2026, 2, 2, 10);

/** The pure sending rules, on a virtual clock: nothing is dropped, only moved. */
describe('send policy', () => {
  it('a weekly cap of 3 holds the 4th email until the first leaves the window', () => {
    const sent = [MONDAY_10, MONDAY_10 + DAY, MONDAY_10 + 2 * DAY];
    expect(nextCapSlot(sent, { cap: 3, periodMs: WEEK }, MONDAY_10 + 3 * DAY)).toBe(
      MONDAY_10 + WEEK,
    );
  });

  it('queued sends take successive free slots in priority order', () => {
    const sent = [MONDAY_10, MONDAY_10 + DAY];
    const cap = { cap: 2, periodMs: WEEK };
    const now = MONDAY_10 + 2 * DAY;
    expect(nextCapSlot(sent, cap, now, 0)).toBe(MONDAY_10 + WEEK);
    expect(nextCapSlot(sent, cap, now, 1)).toBe(MONDAY_10 + DAY + WEEK);
    // The lower-priority send waits although a slot is free for the one ahead of it.
    expect(
      decideSend({
        now: MONDAY_10 + WEEK,
        zone: 'UTC',
        window: { quietHours: null, sendDays: [] },
        cap,
        sentAt: sent,
        ahead: 1,
      }),
    ).toEqual({
      type: 'defer',
      until: MONDAY_10 + DAY + WEEK,
      reason: 'priority',
    });
  });

  it('as many sends ahead as the cap allows hold this one one period, not sixteen', () => {
    const open = { quietHours: null, sendDays: [] };
    const ask = (cap: number, sentAt: number[]) =>
      decideSend({
        now: MONDAY_10,
        zone: 'UTC',
        window: open,
        cap: { cap, periodMs: WEEK },
        sentAt,
        ahead: cap,
      });
    // Nothing sent lately: the sends ahead go now, this one a week after them.
    for (const cap of [1, 2, 3])
      expect(ask(cap, [])).toEqual({ type: 'defer', until: MONDAY_10 + WEEK, reason: 'priority' });
    // One sent three days ago: the one ahead goes in four days, this one a week after that.
    expect(ask(1, [MONDAY_10 - 3 * DAY])).toEqual({
      type: 'defer',
      until: MONDAY_10 + 11 * DAY,
      reason: 'frequencyCap',
    });
    // Quiet hours first (22:00-08:00 UTC, now 23:00): the one ahead goes at 08:00, this one a
    // week later, at 08:00 again.
    expect(
      decideSend({
        now: MONDAY_10 + 13 * HOUR,
        zone: 'UTC',
        window: { quietHours: { startMinute: 22 * 60, endMinute: 8 * 60 }, sendDays: [] },
        cap: { cap: 1, periodMs: WEEK },
        sentAt: [],
        ahead: 1,
      }),
    ).toEqual({ type: 'defer', until: MONDAY_10 + 22 * HOUR + WEEK, reason: 'quietHours' });
  });

  it('quiet hours in the contact’s zone defer to when they end, then the cap applies', () => {
    // 22:00-08:00 in Tokyo; 14:00 UTC is 23:00 in Tokyo.
    const window = { quietHours: { startMinute: 22 * 60, endMinute: 8 * 60 }, sendDays: [] };
    const now = Date.UTC(2026, 2, 2, 14);
    expect(
      decideSend({ now, zone: 'Asia/Tokyo', window, cap: null, sentAt: [], ahead: 0 }),
    ).toEqual({
      type: 'defer',
      until: Date.UTC(2026, 2, 2, 23), // 08:00 Tokyo on the 3rd
      reason: 'quietHours',
    });
    // Saturday and Sunday not allowed: Saturday noon waits for Monday midnight.
    const weekdays = { quietHours: null, sendDays: [1, 2, 3, 4, 5] };
    const saturday = Date.UTC(2026, 2, 7, 12);
    expect(
      decideSend({ now: saturday, zone: 'UTC', window: weekdays, cap: null, sentAt: [], ahead: 0 }),
    ).toMatchObject({
      until: Date.UTC(2026, 2, 9),
    });
  });

  it('the simulator holds a journey email in quiet hours on its virtual clock and sends it after', () => {
    const plan: Plan = {
      format: 2,
      journeyKey: 'quiet',
      name: 'Quiet',
      hash: 'x',
      triggers: [],
      enrollment: {
        reentry: 'once',
        coolDownMs: 0,
        maxEntries: null,
        key: null,
        condition: null,
        enrollExisting: false,
      },
      goals: [],
      exits: [],
      suppression: [],
      settings: {
        quietHours: { startMinute: 21 * 60, endMinute: 8 * 60 },
        sendDays: [],
        fallbackTimezone: 'UTC',
        countsTowardFrequencyCap: true,
        rateLimit: null,
        priority: 'normal',
      },
      entry: 'hello',
      steps: {
        hello: {
          id: 'hello',
          type: 'action',
          action: {
            type: 'sendEmail',
            template: 'welcome',
            subject: null,
            from: null,
            replyTo: null,
            category: null,
            countsTowardFrequencyCap: true,
          },
          next: null,
          onFailure: 'stop',
          routes: [],
        },
      },
    };
    const at = Date.UTC(2026, 2, 2, 23);
    const result = simulate({
      plan,
      start: at,
      contacts: [{ id: 'c1', enrollAt: at, attributes: { timezone: 'UTC' } }],
    });
    expect(result.actions.map((a) => a.at)).toEqual([Date.UTC(2026, 2, 3, 8)]);
  });
});
