import { parseDuration } from '../core/index.js';

/** Small conversions shared by the compilers. */

const WEEKDAY_NUMBERS: Readonly<Record<string, number>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

export function weekdayNumbers(days: readonly string[] | undefined): number[] {
  return (days ?? []).map((d) => WEEKDAY_NUMBERS[d] ?? 0).sort((a, b) => a - b);
}

export function minuteOfDay(time: string): number {
  const [h = 0, m = 0] = time.split(':').map(Number);
  return h * 60 + m;
}

/** Milliseconds of a validated duration; `-P7D` is negative. */
export function ms(duration: string | undefined, fallback = 0): number {
  if (duration === undefined) return fallback;
  const negative = duration.startsWith('-');
  const value = parseDuration(negative ? duration.slice(1) : duration) ?? 0;
  return negative ? -value : value;
}
