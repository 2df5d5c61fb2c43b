/**
 * ISO 8601 durations (`P3D`, `PT2H30M`, `P1W`) to milliseconds. Years and months are not
 * accepted: their length depends on the calendar, and a wait must mean the same thing on
 * every day it starts.
 */
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

const MS = { week: 604_800_000, day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1000 };

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [, w, d, h, min, s] = m;
  return (
    Number(w ?? 0) * MS.week +
    Number(d ?? 0) * MS.day +
    Number(h ?? 0) * MS.hour +
    Number(min ?? 0) * MS.minute +
    Math.round(Number(s ?? 0) * MS.second)
  );
}

export function formatDuration(ms: number): string {
  if (ms % MS.day === 0) return `P${ms / MS.day}D`;
  const seconds = ms / 1000;
  return `PT${seconds}S`;
}
