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

  it('hashes contact and step ids to a stable, spread-out unit interval', () => {
    expect(hashUnit('c1:split')).toBe(hashUnit('c1:split'));
    const buckets = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) buckets[Math.floor(hashUnit(`c${i}:split`) * 4)]! += 1;
    for (const b of buckets) expect(b).toBeGreaterThan(900);
  });
});
