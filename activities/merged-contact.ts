import type { Sql } from '../store/index.js';

/**
 * The contact an enrollment belongs to now, when the one its workflow started with is gone: a
 * merge (engine/merge-contacts.ts) moves the enrollment to the contact that stays, but the
 * running workflow keeps the id it was started with. Null when the enrollment still names
 * `contactId`, so the contact is gone for good. Asked only after a lookup found nothing: the
 * usual path costs no statement.
 */
export async function mergedContactOf(
  sql: Sql,
  enrollmentId: string,
  contactId: string,
): Promise<string | null> {
  const [row] = await sql.query<{ contact_id: string }>(
    'SELECT contact_id FROM enrollments WHERE id = $1',
    [enrollmentId],
  );
  return row && row.contact_id !== contactId ? row.contact_id : null;
}
