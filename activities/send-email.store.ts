import type { Prisma } from '@prisma/client';
import { contactRecords, type ContactRecord } from '../engine/contact-record.js';
import type { Sql } from '../store/index.js';

/**
 * The send activity's hot-path statements in plain SQL through the driver (store/sql.ts):
 * each is one round trip, where a Prisma call costs several times the CPU here, which
 * dominated the send rate.
 */
export interface Claimed {
  readonly status: string;
  readonly result: Prisma.JsonValue | null;
}

/** Claims the side-effect row (or finds the earlier claim) in one statement. */
export async function claimSideEffect(
  sql: Sql,
  key: string,
  enrollmentId: string,
  stepId: string,
  kind: string,
): Promise<Claimed> {
  const rows = await sql.query<Claimed>(
    `INSERT INTO side_effects (key, enrollment_id, step_id, kind, status, updated_at)
     VALUES ($1, $2, $3, $4, 'started', now())
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
     RETURNING status, result`,
    [key, enrollmentId, stepId, kind],
  );
  return rows[0] ?? { status: 'started', result: null };
}

/**
 * Marks the side effect settled; with `message`, also records the sent email in the same
 * statement (one commit, not two, on the common path where no send rule had to reserve it).
 */
export async function settleSideEffect(
  sql: Sql,
  key: string,
  status: 'done' | 'skipped' | 'failed',
  result: Prisma.InputJsonObject,
  message: MessageRow | null = null,
): Promise<void> {
  if (!message) {
    await sql.query(
      `UPDATE side_effects SET status = $1, result = $2::jsonb, updated_at = now() WHERE key = $3`,
      [status, JSON.stringify(result), key],
    );
    return;
  }
  await sql.query(
    `WITH m AS (${insertMessage(3)})
     UPDATE side_effects SET status = $1, result = $2::jsonb, updated_at = now() WHERE key = $3`,
    [status, JSON.stringify(result), key, ...messageParams(message)],
  );
}

/** The newest reason the address may not get this category, or null. */
export async function suppressionReason(
  sql: Sql,
  workspaceId: string,
  emailKey: string,
  category: string,
): Promise<string | null> {
  const rows = await sql.query<{ reason: string }>(
    `SELECT reason FROM suppressions
     WHERE workspace_id = $1 AND email_key = $2 AND scope IN ('*', $3)
     LIMIT 1`,
    [workspaceId, emailKey, category],
  );
  return rows[0]?.reason ?? null;
}

/** Records the message (what the cap counts and tracking checks). */
export async function recordMessage(sql: Sql, m: MessageRow): Promise<void> {
  await sql.query(INSERT_MESSAGE, messageParams(m));
}

export interface MessageRow {
  readonly id: string;
  readonly workspaceId: string;
  readonly contactId: string;
  readonly enrollmentId: string;
  readonly stepId: string;
  readonly category: string;
  readonly countsToCap: boolean;
  readonly links: readonly string[];
}

/** Parameters $1..$8 of `messageParams`, shifted by `offset`. */
function insertMessage(offset: number): string {
  const p = (n: number) => `$${n + offset}`;
  return `INSERT INTO email_messages (id, workspace_id, contact_id, enrollment_id, step_id, category, counts_to_cap, links, sent_at)
    VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}::text[], now())
    ON CONFLICT (id) DO NOTHING`;
}

const INSERT_MESSAGE = insertMessage(0);

function messageParams(m: MessageRow): unknown[] {
  return [
    m.id,
    m.workspaceId,
    m.contactId,
    m.enrollmentId,
    m.stepId,
    m.category,
    m.countsToCap,
    [...m.links],
  ];
}

export async function resolveDeferrals(sql: Sql, key: string): Promise<void> {
  await sql.query(
    `UPDATE send_deferrals SET resolved_at = now() WHERE key = $1 AND resolved_at IS NULL`,
    [key],
  );
}

/** The contact, with the columns templates and the send rules read. */
export async function loadContact(
  sql: Sql,
  workspaceId: string,
  contactId: string,
): Promise<ContactRecord | null> {
  const [contact] = await contactRecords(sql, [contactId], workspaceId);
  return contact ?? null;
}
