import { describe, expect, it } from 'vitest';
import { hashUnit, localParts, nextLocalTime, zonedTime } from '../../core/index.js';

describe('time zones without a library', () => {
  it('finds the next local time of day on allowed weekdays, across a DST change', () => {
    const friday = Date.parse('2025-03-28T12:00:00Z'); // Berlin switches to summer time on Sunday 30 March
    const monday = nextLocalTime(friday, 'Europe/Berlin', 9 * 60, [1]);
    expect(new Date(monday).toISOString()).toBe('2025-03-31T07:00:00.000Z');
    expect(localParts(monday, 'Europe/Berlin')).toMatchObject({ minuteOfDay: 540, weekday: 1 });
  });

  it('maps a local wall-clock time to an instant', () => {
    expect(new Date(zonedTime(2025, 7, 1, 9 * 60, 'America/New_York')).toISOString()).toBe(
      '2025-07-01T13:00:00.000Z',
    );
  });

  it('maps a wall time in a DST gap to as far past the gap, and one in an overlap to the earlier instant', () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    // New York springs from 02:00 to 03:00 on 9 March 2025: 02:30 is 03:30 EDT.
    expect(iso(zonedTime(2025, 3, 9, 150, 'America/New_York'))).toBe('2025-03-09T07:30:00.000Z');
    // Berlin springs from 02:00 to 03:00 on 30 March 2025: 02:30 is 03:30 CEST.
    expect(iso(zonedTime(2025, 3, 30, 150, 'Europe/Berlin'))).toBe('2025-03-30T01:30:00.000Z');
    // Santiago springs from 00:00 to 01:00 on 7 September 2025: midnight is 01:00 that day.
    const santiago = zonedTime(2025, 9, 7, 0, 'America/Santiago');
    expect(iso(santiago)).toBe('2025-09-07T04:00:00.000Z');
    expect(localParts(santiago, 'America/Santiago')).toMatchObject({ day: 7, minuteOfDay: 60 });
    // New York falls back from 02:00 to 01:00 on 2 November 2025: 01:30 is the first one (EDT).
    expect(iso(zonedTime(2025, 11, 2, 90, 'America/New_York'))).toBe('2025-11-02T05:30:00.000Z');
  });

  it('hashes contact and step ids to a stable, spread-out unit interval', () => {
    expect(hashUnit('c1:split')).toBe(hashUnit('c1:split'));
    const buckets = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) buckets[Math.floor(hashUnit(`c${i}:split`) * 4)]! += 1;
    for (const b of buckets) expect(b).toBeGreaterThan(900);
  });
});
