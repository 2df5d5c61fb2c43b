import type { Contact } from '@prisma/client';
import type { Sql } from '../store/index.js';

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

/** Contacts by id (in any order; missing ids are left out), through plain SQL. */
export async function contactRecords(
  sql: Sql,
  ids: readonly string[],
  workspaceId?: string,
): Promise<ContactRecord[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<ContactRow>(
    workspaceId === undefined
      ? `SELECT ${COLUMNS} FROM contacts WHERE id = ANY($1::text[])`
      : `SELECT ${COLUMNS} FROM contacts WHERE id = ANY($1::text[]) AND workspace_id = $2`,
    workspaceId === undefined ? [ids] : [ids, workspaceId],
  );
  return rows.map((r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    userId: r.user_id,
    email: r.email,
    attributes: r.attributes,
    timezone: r.timezone,
    locale: r.locale,
  }));
}
