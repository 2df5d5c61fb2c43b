/**
 * Wall-clock arithmetic in IANA time zones with nothing but `Intl`, which exists in the
 * Temporal workflow sandbox. Used for "at 9:00 on weekdays in the contact's time zone" waits,
 * quiet hours and yearly date triggers.
 */
export interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Minutes after local midnight. */
  readonly minuteOfDay: number;
  /** 0 = Sunday ... 6 = Saturday. */
  readonly weekday: number;
}

const DAY_MS = 86_400_000;
const WEEKDAYS: Readonly<Record<string, number>> = {
  Sun: 0,
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
};
const formatters = new Map<string, Intl.DateTimeFormat>();

export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The contact's zone when it is a real one, else the fallback, else UTC. */
export function zoneOf(candidate: unknown, fallback: string): string {
  if (typeof candidate === 'string' && candidate !== '' && isTimeZone(candidate)) return candidate;
  return isTimeZone(fallback) ? fallback : 'UTC';
}

export function localParts(epochMs: number, zone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    minuteOfDay: (Number(parts.hour) % 24) * 60 + Number(parts.minute),
    weekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
  };
}

/**
 * The instant at which the zone's clock shows the given local date and minute. In a DST gap
 * the result is the first instant after it; in an overlap, the earlier one.
 */
export function zonedTime(
  year: number,
  month: number,
  day: number,
  minuteOfDay: number,
  zone: string,
): number {
  const wall = Date.UTC(year, month - 1, day) + minuteOfDay * 60_000;
  let guess = wall - offsetAt(wall, zone);
  guess = wall - offsetAt(guess, zone);
  const shown = localParts(guess, zone);
  if (shown.day === day && shown.minuteOfDay === minuteOfDay) return guess;
  // A wall time in a gap (02:30 the night clocks spring from 02:00 to 03:00) is shown by no
  // instant: read with the offset from before the jump, it lands as far past the gap (03:30).
  return wall - offsetAt(guess - 3 * 3_600_000, zone);
}

/**
 * The first instant strictly after `now` (or at it, when `inclusive`) at `minuteOfDay` local
 * time on one of `weekdays` (all days when empty).
 */
export function nextLocalTime(
  now: number,
  zone: string,
  minuteOfDay: number,
  weekdays: readonly number[],
  inclusive = false,
): number {
  const today = localParts(now, zone);
  for (let i = 0; i <= 8; i++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    const at = zonedTime(
      date.getUTCFullYear(),
      date.getUTCMonth() + 1,
      date.getUTCDate(),
      minuteOfDay,
      zone,
    );
    const allowed = weekdays.length === 0 || weekdays.includes(date.getUTCDay());
    if (allowed && (at > now || (inclusive && at === now))) return at;
  }
  // Unreachable with at least one weekday: a week always holds it.
  return now + 7 * DAY_MS;
}

function offsetAt(epochMs: number, zone: string): number {
  const p = localParts(epochMs, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day) + p.minuteOfDay * 60_000;
  const floored = epochMs - (((epochMs % 60_000) + 60_000) % 60_000);
  return asUtc - floored;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}
