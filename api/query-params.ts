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

function badParam(name: string, message: string) {
  return invalidInput(`The \`${name}\` parameter has a problem.`, [
    { pointer: `/${name}`, code: 'bad-value', message },
  ]);
}
