import { createHash } from 'node:crypto';
import { acceptMessages } from '../accept.js';
import type { IncomingMessage } from '../ingest.js';
import type { EngineDeps } from '../deps.js';
import { attributeSchema, checkAttributes, MAX_EMAIL_LENGTH } from './attribute-schema.js';
import { fromSpreadsheetText } from './csv.js';

/**
 * Where a CSV column goes: a contact field, an attribute of that name, or nowhere (a column the
 * export writes that no import sets, such as `id`).
 */
export type ColumnTarget =
  | { readonly kind: 'email' }
  | { readonly kind: 'userId' }
  | { readonly kind: 'attribute'; readonly name: string }
  | { readonly kind: 'ignored' };

export interface RowProblem {
  /** The record's number in the file; the header row is 1. */
  readonly row: number;
  readonly reason: string;
}

export interface ImportReport {
  readonly imported: number;
  readonly updated: number;
  readonly rejected: RowProblem[];
  /** Rows stored whose email could not be set because another identified contact holds it. */
  readonly warnings: RowProblem[];
  /** Identify events stored by this import, to be routed like any other. */
  readonly newEventIds: string[];
}

export const IMPORT_CHUNK = 500;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** As `POST /v1/identify` allows (api/schemas/segment.schema.ts). */
const MAX_USER_ID = 255;

/**
 * Columns of the CSV export that an import cannot set, skipped so an exported file imports
 * as it is: the contact's own `id`, `lists` (memberships, changed through the lists API),
 * `unsubscribed` (the subscriptions' copy), `scores` and `ownerId` (set through the contacts
 * API, which checks the user). `?map=` can rename such a column to keep it (`?map=id:crmId`).
 */
const EXPORT_ONLY = new Set(['id', 'lists', 'scores', 'unsubscribed', 'ownerId']);

/**
 * The target of a header: the well-known spellings become contact fields or the standard
 * Segment traits, anything else is an attribute of that name. `map` (from `?map=`) renames
 * headers first so files from other tools import without editing.
 */
export function columnTarget(cell: string, map: ReadonlyMap<string, string>): ColumnTarget {
  // The export guards a header as any cell (`'=…`); `?map=` names the header as read.
  const header = fromSpreadsheetText(cell);
  const name = (map.get(header.trim()) ?? header).trim();
  if (EXPORT_ONLY.has(name)) return { kind: 'ignored' };
  const key = name.toLowerCase().replaceAll(/[\s_-]/g, '');
  if (key === 'email') return { kind: 'email' };
  if (key === 'userid') return { kind: 'userId' };
  if (key === 'firstname') return { kind: 'attribute', name: 'firstName' };
  if (key === 'lastname') return { kind: 'attribute', name: 'lastName' };
  return { kind: 'attribute', name };
}

/**
 * A value cell as the import reads it: trimmed, then the export's formula guard taken off
 * (trimmed first, not inside the guard: `'\tx` was the text `\tx`). The keys an erase looks for
 * in a pending file are read so too.
 */
export function cellText(cell: string): string {
  return fromSpreadsheetText(cell.trim());
}

interface Candidate {
  readonly row: number;
  readonly email: string | null;
  readonly userId: string | null;
  /** Checked against the workspace's declared attributes and normalised. */
  readonly attributes: Record<string, unknown>;
  readonly hash: string;
}

/**
 * Imports data records through the identify path, so duplicates are detected and merged
 * exactly as live `identify` calls do (email ignoring case and spaces). Each row's `messageId`
 * is a hash of its content: importing the same file again stores no new event. Rows go in
 * chunks of {@link IMPORT_CHUNK}, each chunk one `acceptMessages` call, or more when rows of
 * a chunk depend on one another (`independentRows`).
 *
 * The export's file imports as it is: its `'=…` cells (csv.ts, `spreadsheetText`) are read as
 * `=…`, its export-only columns are skipped ({@link EXPORT_ONLY}), and lists written as JSON
 * (`["vip","beta"]`) are read as lists (attribute-schema.ts).
 */
export async function importContacts(
  db: Pick<EngineDeps, 'prisma' | 'sql'>,
  workspaceId: string,
  header: readonly string[],
  records: readonly (readonly string[])[],
  map: ReadonlyMap<string, string>,
): Promise<ImportReport> {
  const targets = header.map((h) => columnTarget(h, map));
  const rejected: RowProblem[] = [];
  const warnings: RowProblem[] = [];
  const newEventIds: string[] = [];
  const candidates: Candidate[] = [];
  const schema = await attributeSchema(db.prisma, workspaceId);
  records.forEach((values, i) => {
    const row = i + 2;
    if (values.length === 1 && values[0] === '') return; // a blank line
    if (values.length !== header.length) {
      rejected.push({
        row,
        reason: `This row has ${values.length} columns; the header has ${header.length}.`,
      });
      return;
    }
    let email: string | null = null;
    let userId: string | null = null;
    const attributes: Record<string, string> = {};
    for (const [c, target] of targets.entries()) {
      const value = cellText(values[c] ?? '');
      if (value === '' || target.kind === 'ignored') continue;
      if (target.kind === 'email') email = value;
      else if (target.kind === 'userId') userId = value;
      else attributes[target.name] = value;
    }
    // Longer keys would not fit their unique indexes (a database error, not a rejected row).
    if (userId !== null && [...userId].length > MAX_USER_ID) {
      rejected.push({ row, reason: `The user id is longer than ${MAX_USER_ID} characters.` });
      return;
    }
    if (email !== null && [...email].length > MAX_EMAIL_LENGTH) {
      rejected.push({ row, reason: `The email is longer than ${MAX_EMAIL_LENGTH} characters.` });
      return;
    }
    if (email !== null && !EMAIL.test(email)) {
      rejected.push({ row, reason: `\`${email}\` is not an email address.` });
      return;
    }
    if (email === null && userId === null) {
      rejected.push({ row, reason: 'This row has neither an email nor a user id.' });
      return;
    }
    // Cells are text: `42`, `yes`, `pro, beta` are read as the attribute's declared type.
    const checked = checkAttributes(schema, attributes, 'text');
    if (!checked.ok) {
      rejected.push({ row, reason: checked.problems.map((p) => p.message).join(' ') });
      return;
    }
    const hash = createHash('sha256')
      .update(JSON.stringify([email, userId, attributes]))
      .digest('hex');
    candidates.push({ row, email, userId, attributes: checked.values, hash });
  });

  let imported = 0;
  let updated = 0;
  const seen = new Set<string>();
  for (let start = 0; start < candidates.length;) {
    const chunk = independentRows(candidates, start);
    start += chunk.length;
    const emailKeys = chunk.flatMap((c) => (c.email ? [c.email.toLowerCase()] : []));
    const userIds = chunk.flatMap((c) => (c.userId ? [c.userId] : []));
    const existing = await db.prisma.contact.findMany({
      where: { workspaceId, OR: [{ emailKey: { in: emailKeys } }, { userId: { in: userIds } }] },
      select: { userId: true, emailKey: true, anonymousIds: true },
    });
    const byEmail = new Map(
      existing.flatMap((c) => (c.emailKey ? [[c.emailKey, c] as const] : [])),
    );
    const byUser = new Set(existing.flatMap((c) => (c.userId ? [c.userId] : [])));
    const now = new Date();
    const messages: IncomingMessage[] = chunk.map((c) => {
      const emailKey = c.email?.toLowerCase() ?? null;
      const holder = emailKey ? byEmail.get(emailKey) : undefined;
      // An email-only row joins the contact holding that email (its user id, or its anonymous
      // id); a new email gets a stable anonymous id so the same row always lands on one contact.
      const userId = c.userId ?? holder?.userId ?? null;
      const anonymousId =
        userId === null ? (holder?.anonymousIds[0] ?? `import:${sha256(emailKey ?? '')}`) : null;
      const keys = [emailKey && `e:${emailKey}`, userId && `u:${userId}`].filter(
        (k): k is string => typeof k === 'string',
      );
      // Counted as the identify applies it: a row with a user id is a new contact unless that
      // user id is known, or the email's holder is anonymous (the identify takes it over); an
      // email held by another user id is a warning, and the row a new contact all the same.
      const known =
        c.userId !== null
          ? byUser.has(c.userId) ||
            seen.has(`u:${c.userId}`) ||
            (holder !== undefined && holder.userId === null) ||
            (emailKey !== null && seen.has(`a:${emailKey}`))
          : holder !== undefined || (emailKey !== null && seen.has(`e:${emailKey}`));
      if (known) updated += 1;
      else imported += 1;
      for (const k of keys) seen.add(k);
      if (userId === null && emailKey !== null) seen.add(`a:${emailKey}`);
      return {
        type: 'identify',
        messageId: `import:${c.hash}`,
        userId,
        anonymousId,
        event: null,
        traits: { ...c.attributes, ...(c.email ? { email: c.email } : {}) },
        properties: {},
        timestamp: now,
      };
    });
    const accepted = await acceptMessages(db, workspaceId, messages, now, 'later');
    accepted.messages.forEach((m, i) => {
      const row = chunk[i]?.row ?? 0;
      if (m.warning === 'email-taken')
        warnings.push({ row, reason: 'Another contact with a user id already has this email.' });
    });
    newEventIds.push(...accepted.newEventIds);
  }
  return { imported, updated, rejected, warnings, newEventIds };
}

/**
 * The rows from `start` (at most {@link IMPORT_CHUNK}) that can go in one `acceptMessages` call.
 * Emails are looked up before any row of the call is applied, so an email-only row after a row
 * that gives that email to a user id would not see its holder and would make a contact of its
 * own: such a row begins the next call, which looks the email up again (as a second import
 * would). Rows' messageIds do not depend on where the cut falls.
 */
function independentRows(candidates: readonly Candidate[], start: number): Candidate[] {
  const identified = new Set<string>();
  const end = Math.min(start + IMPORT_CHUNK, candidates.length);
  let stop = start;
  for (; stop < end; stop++) {
    const c = candidates[stop];
    const emailKey = c?.email?.toLowerCase();
    if (c === undefined || emailKey === undefined) continue;
    if (c.userId !== null) identified.add(emailKey);
    else if (identified.has(emailKey)) break;
  }
  return candidates.slice(start, Math.max(stop, start + 1));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
