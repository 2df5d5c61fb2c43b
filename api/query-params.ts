import type { Request } from 'express';
import { invalidInput } from './problem.js';

type Query = Request['query'];

/**
 * Query-string parameters read strictly: a value that is not one of those the parameter takes,
 * or a parameter given twice, is a 422 naming it (`/name`), never ignored. A silently ignored
 * filter lists more than was asked for; a silently ignored `?draft=1` published a journey.
 */

/** `?name=true` or `?name=false`; absent: false. */
export function flagParam(query: Query, name: string): boolean {
  const value = query[name];
  if (value === undefined) return false;
  if (value === 'true' || value === 'false') return value === 'true';
  throw badParam(name, `\`${name}\` must be \`true\` or \`false\`.`);
}

/** `?name=` one non-empty text of up to 200 characters; absent: null. */
export function textParam(query: Query, name: string): string | null {
  const value = query[name];
  if (value === undefined) return null;
  if (typeof value === 'string' && value.trim() !== '' && value.length <= 200) return value;
  throw badParam(name, `\`${name}\` must be one non-empty text of up to 200 characters.`);
}

/** `?name=` one of `allowed`; absent: null. */
export function choiceParam<T extends string>(
  query: Query,
  name: string,
  allowed: readonly T[],
): T | null {
  const value = query[name];
  if (value === undefined) return null;
  const found = allowed.find((a) => a === value);
  if (found !== undefined) return found;
  throw badParam(name, `\`${name}\` must be one of ${allowed.map((a) => `\`${a}\``).join(', ')}.`);
}

/** `?name=` a JSON object (URL-encoded) of up to 4,000 characters; absent: null. */
export function jsonObjectParam(query: Query, name: string): Record<string, unknown> | null {
  const value = query[name];
  if (value === undefined) return null;
  const message = `\`${name}\` must be a JSON object of up to 4,000 characters, such as {"plan":"pro"}.`;
  if (typeof value !== 'string' || value.length > 4000) throw badParam(name, message);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw badParam(name, message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw badParam(name, message);
  return parsed as Record<string, unknown>;
}

function badParam(name: string, message: string) {
  return invalidInput(`The \`${name}\` parameter has a problem.`, [
    { pointer: `/${name}`, code: 'bad-value', message },
  ]);
}
