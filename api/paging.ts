import type { Request } from 'express';
import { decodeTimelineCursor, type TimelineCursor } from '../engine/contacts/timeline.js';
import { invalidInput } from './problem.js';

export interface Page {
  readonly limit: number;
  /** Return rows whose id sorts after this one (ids are time-ordered UUIDv7). */
  readonly after: string | null;
}

/**
 * `?limit=` (1-200, default 50) and `?cursor=` (the `nextCursor` of the previous page). Paging
 * by id rather than offset keeps pages stable while rows are being added.
 */
export function pageOf(req: Request): Page {
  const rawLimit = req.query.limit;
  const rawCursor = req.query.cursor;
  const limit = rawLimit === undefined ? 50 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200)
    throw invalidInput('The paging parameters have problems.', [
      {
        pointer: '/limit',
        code: 'out-of-range',
        message: '`limit` must be a whole number from 1 to 200.',
      },
    ]);
  if (
    rawCursor !== undefined &&
    (typeof rawCursor !== 'string' || !/^[0-9a-f-]{36}$/.test(rawCursor))
  )
    throw invalidInput('The paging parameters have problems.', [
      {
        pointer: '/cursor',
        code: 'bad-format',
        message: '`cursor` must be a `nextCursor` from a previous page.',
      },
    ]);
  return { limit, after: typeof rawCursor === 'string' ? rawCursor : null };
}

/** Rows fetched with `take: limit + 1` become a page and the cursor of the next one. */
export function pageResult<T extends { id: string }, V>(
  rows: readonly T[],
  page: Page,
  view: (row: T) => V,
): { data: V[]; nextCursor: string | null } {
  const more = rows.length > page.limit;
  const slice = more ? rows.slice(0, page.limit) : rows;
  return { data: slice.map(view), nextCursor: more ? (slice[slice.length - 1]?.id ?? null) : null };
}

/**
 * `?limit=` 1-200 (default 50) and `?cursor=` (a `nextCursor` from the previous page) for lists
 * ordered by a time and then an id (a contact's timeline, a journey's enrollments): the cursor is
 * the last row's pair, so rows added meanwhile neither shift nor repeat later pages.
 */
export function timePageOf(
  rawLimit: unknown,
  rawCursor: unknown,
): { limit: number; cursor: TimelineCursor | null } {
  const limit = rawLimit === undefined ? 50 : Number(rawLimit);
  const problems: { pointer: string; code: string; message: string }[] = [];
  if (!Number.isInteger(limit) || limit < 1 || limit > 200)
    problems.push({
      pointer: '/limit',
      code: 'out-of-range',
      message: '`limit` must be a whole number from 1 to 200.',
    });
  const cursor = typeof rawCursor === 'string' ? decodeTimelineCursor(rawCursor) : null;
  if (rawCursor !== undefined && cursor === null)
    problems.push({
      pointer: '/cursor',
      code: 'bad-format',
      message: '`cursor` must be a `nextCursor` from a previous page.',
    });
  if (problems.length > 0) throw invalidInput('The paging parameters have problems.', problems);
  return { limit, cursor };
}
