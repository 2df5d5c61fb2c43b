import { describe, expect, it } from 'vitest';
import { newId } from '../../store/index.js';

describe('newId', () => {
  it('makes version-7 UUIDs that sort in the order they were made, even within a millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The first 48 bits are the time (never ahead of the clock by more than the ids borrowed).
    const ms = Number.parseInt(ids[0]?.replace(/-/g, '').slice(0, 12) ?? '', 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
