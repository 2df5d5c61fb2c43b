import type { Contact } from '@prisma/client';
import type { Sql } from '../store/index.js';
import type { PastEnrollmentRow } from './entry-decision.js';

/** The contact columns that conditions, templates and scores read. */
export type ContactRecord = Pick<
  Contact,
  'id' | 'workspaceId' | 'userId' | 'email' | 'attributes' | 'timezone' | 'locale'
>;

interface ContactRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly user_id: string | null;
  readonly email: string | null;
  readonly attributes: Contact['attributes'];
  readonly timezone: string | null;
  readonly locale: string | null;
}

const COLUMNS = 'id, workspace_id, user_id, email, attributes, timezone, locale';

/**
 * SQL: not an erased contact, whose row stays with a tombstone for its `userId` (`erased:<id>`,
 * see engine/contacts/erase.ts). The reads below leave it out, so nothing is decided about it
 * any more (no entry, no condition, no stage), as for a contact that never existed. `alias` is
 * the table's prefix (`c.`), or empty.
 */
export function notErased(alias: string): string {
  return `${alias}user_id IS DISTINCT FROM 'erased:' || ${alias}id`;
}

/** Contacts by id (in any order; missing ids are left out), through plain SQL. */
export async function contactRecords(
  sql: Sql,
  ids: readonly string[],
  workspaceId?: string,
): Promise<ContactRecord[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<ContactRow>(
    workspaceId === undefined
      ? `SELECT ${COLUMNS} FROM contacts WHERE id = ANY($1::text[]) AND ${notErased('')}`
      : `SELECT ${COLUMNS} FROM contacts WHERE id = ANY($1::text[]) AND workspace_id = $2 AND ${notErased('')}`,
    workspaceId === undefined ? [ids] : [ids, workspaceId],
  );
  return rows.map(recordOf);
}

function recordOf(r: ContactRow): ContactRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    userId: r.user_id,
    email: r.email,
    attributes: r.attributes,
    timezone: r.timezone,
    locale: r.locale,
  };
}

/**
 * What routing reads first about a contact: its record and every enrollment it has (any
 * journey, any status, oldest first), in one statement. The running ones are told about the
 * event; a journey's own are its entry history.
 */
export interface ContactSnapshot {
  /** Null when there is no such contact (erased, or never made). */
  readonly record: ContactRecord | null;
  readonly enrollments: readonly (PastEnrollmentRow & {
    readonly journeyId: string;
    /** The event that started it (null: a schedule, a step, by hand). */
    readonly triggerEventId: string | null;
  })[];
}

/** SQL for the enrollments of the contact whose id is `contactId`, as a JSON array (snapshot). */
function enrollmentsJson(contactId: string): string {
  return `coalesce((
         SELECT json_agg(json_build_object(
           'id', e.id, 'journeyId', v.journey_id, 'entryKey', e.entry_key, 'status', e.status,
           'triggerEventId', e.trigger_event_id,
           'startedAtMs', (extract(epoch FROM e.started_at) * 1000)::float8,
           'endedAtMs', (extract(epoch FROM e.ended_at) * 1000)::float8) ORDER BY e.started_at, e.id)
         FROM enrollments e JOIN journey_versions v ON v.id = e.journey_version_id
         WHERE e.contact_id = ${contactId}), '[]'::json)`;
}

/**
 * SQL for the snapshot of the contact whose id is `contactId` as one JSON value, for a statement
 * that reads it beside its own work (accepting a single track): null when the statement cannot
 * see the contact, which is then read with {@link contactSnapshots}.
 */
export function contactSnapshotJson(contactId: string): string {
  return `(SELECT json_build_object(
       'record', json_build_object('id', c.id, 'workspaceId', c.workspace_id, 'userId', c.user_id,
         'email', c.email, 'attributes', c.attributes, 'timezone', c.timezone, 'locale', c.locale),
       'enrollments', ${enrollmentsJson('c.id')})
     FROM contacts c WHERE c.id = ${contactId} AND ${notErased('c.')})`;
}

export async function contactSnapshots(
  sql: Sql,
  ids: readonly string[],
): Promise<Map<string, ContactSnapshot>> {
  if (ids.length === 0) return new Map();
  const rows = await sql.query<
    ContactRow & { readonly found: boolean; readonly enrollments: ContactSnapshot['enrollments'] }
  >(
    `SELECT i.id, c.id IS NOT NULL AS found, c.workspace_id, c.user_id, c.email,
       c.attributes, c.timezone, c.locale, ${enrollmentsJson('i.id')} AS enrollments
     FROM unnest($1::text[]) AS i(id) LEFT JOIN contacts c ON c.id = i.id AND ${notErased('c.')}`,
    [ids],
    { name: 'contact-snapshots' },
  );
  return new Map(
    rows.map((r) => [r.id, { record: r.found ? recordOf(r) : null, enrollments: r.enrollments }]),
  );
}
