import type { PlanSettings } from './plan.js';
import { localParts, zonedTime } from './zoned-time.js';

/**
 * Quiet hours and allowed send days, in the contact's time zone: the first instant at or
 * after `now` when an email may go out. Emails are held, never dropped.
 */
export function nextSendTime(now: number, zone: string, settings: PlanSettings): number {
  if (!settings.quietHours && settings.sendDays.length === 0) return now;
  if (maySend(now, zone, settings)) return now;
  const today = localParts(now, zone);
  let best: number | null = null;
  // Sending resumes at midnight of an allowed day or when quiet hours end; check both for
  // the coming week and take the earliest that is allowed.
  const starts = [0, settings.quietHours?.endMinute ?? 0];
  for (let i = 0; i <= 8; i++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    for (const minute of starts) {
      const at = zonedTime(
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        minute,
        zone,
      );
      if (at > now && (best === null || at < best) && maySend(at, zone, settings)) best = at;
    }
    if (best !== null) return best;
  }
  return best ?? now;
}

export function maySend(at: number, zone: string, settings: PlanSettings): boolean {
  const local = localParts(at, zone);
  if (settings.sendDays.length > 0 && !settings.sendDays.includes(local.weekday)) return false;
  const quiet = settings.quietHours;
  if (!quiet) return true;
  const m = local.minuteOfDay;
  // A window such as 21:00-08:00 wraps around midnight.
  const inQuiet =
    quiet.startMinute <= quiet.endMinute
      ? m >= quiet.startMinute && m < quiet.endMinute
      : m >= quiet.startMinute || m < quiet.endMinute;
  return !inQuiet;
}
