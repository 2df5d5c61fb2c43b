import { isTimeZone, parseDuration } from '../core/index.js';
import { pointerOf, type Problem } from './problem.js';

/** Checks of single values that a schema pattern cannot make: real durations, real zones. */

type Path = readonly (string | number)[];

export const MAX_DURATION_MS = 2 * 366 * 86_400_000;

/** A duration that must be longer than zero and at most two years. */
export function durationProblems(text: string | undefined, path: Path, what: string): Problem[] {
  if (text === undefined) return [];
  const ms = parseDuration(text.replace(/^-/, ''));
  if (ms !== undefined && ms > 0 && ms <= MAX_DURATION_MS) return [];
  return [
    {
      pointer: pointerOf(...path),
      code: 'impossible-duration',
      message: `${what} is \`${text}\`: it must be longer than zero and at most two years.`,
    },
  ];
}

export function timeZoneProblems(zone: string | undefined, path: Path): Problem[] {
  if (zone === undefined || isTimeZone(zone)) return [];
  return [
    {
      pointer: pointerOf(...path),
      code: 'unknown-timezone',
      message: `\`${zone}\` is not a time zone; use an IANA name such as \`Europe/Berlin\`.`,
    },
  ];
}

/** `{{contact.plan}}`, `{{default contact.firstName "there"}}`: the `contact.*` names used. */
export function placeholderAttributes(text: string): string[] {
  const names: string[] = [];
  for (const block of text.matchAll(/\{\{([^}]{0,500})\}\}/g)) {
    for (const m of (block[1] ?? '').matchAll(/\bcontact\.([A-Za-z_][A-Za-z0-9_]*)/g))
      if (m[1]) names.push(m[1]);
  }
  return names;
}
