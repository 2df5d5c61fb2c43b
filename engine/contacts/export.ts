import type { PrismaClient } from '@prisma/client';
import { csvRecord, spreadsheetText } from './csv.js';

const PAGE = 500;

/**
 * The workspace's contacts as CSV records: `id,userId,email`, then one column per attribute
 * name any contact has (sorted). Erased contacts are left out. Paged by id so memory stays
 * flat whatever the size; the caller writes each chunk as it comes.
 *
 * Text that a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) is written with a
 * leading `'` (`spreadsheetText`), header names included; the import reads it back without.
 */
export async function* exportContacts(
  prisma: PrismaClient,
  workspaceId: string,
): AsyncGenerator<string> {
  const keys = await prisma.$queryRawUnsafe<{ key: string }[]>(
    `SELECT DISTINCT jsonb_object_keys(attributes) AS key FROM contacts
     WHERE workspace_id = $1 AND jsonb_typeof(attributes) = 'object' ORDER BY key`,
    workspaceId,
  );
  const names = keys.map((k) => k.key);
  yield csvRecord(['id', 'userId', 'email', ...names.map(spreadsheetText)]);
  let after = '';
  for (;;) {
    const rows = await prisma.$queryRawUnsafe<
      { id: string; user_id: string | null; email: string | null; attributes: unknown }[]
    >(
      `SELECT c.id, c.user_id, c.email, c.attributes FROM contacts c
       WHERE c.workspace_id = $1 AND c.id > $2
         AND NOT EXISTS (SELECT 1 FROM erasure_audits a WHERE a.contact_id = c.id)
       ORDER BY c.id LIMIT $3`,
      workspaceId,
      after,
      PAGE,
    );
    if (rows.length === 0) return;
    let chunk = '';
    for (const row of rows) {
      const attributes: Record<string, unknown> =
        typeof row.attributes === 'object' && row.attributes !== null
          ? Object.fromEntries(Object.entries(row.attributes))
          : {};
      chunk += csvRecord([
        row.id,
        spreadsheetText(row.user_id ?? ''),
        spreadsheetText(row.email ?? ''),
        ...names.map((n) => cellOf(attributes[n])),
      ]);
    }
    yield chunk;
    after = rows[rows.length - 1]?.id ?? after;
    if (rows.length < PAGE) return;
  }
}

function cellOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  // Only text can start a formula by accident; `-5` stored as a number stays `-5`.
  if (typeof value === 'string') return spreadsheetText(value);
  return JSON.stringify(value);
}
