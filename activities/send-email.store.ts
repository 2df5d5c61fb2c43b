import type { Prisma } from '@prisma/client';
import type { ContactRecord } from '../engine/contact-record.js';
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

/**
 * Marks the side effect settled in one statement (one commit) with what goes with it: a sent
 * or skipped email ends the send's deferrals, and `message` records the sent email when no
 * send rule had to reserve it beforehand.
 */
export async function settleSideEffect(
  sql: Sql,
  key: string,
  status: 'done' | 'skipped' | 'failed',
  result: Prisma.InputJsonObject,
  message: MessageRow | null = null,
): Promise<void> {
  const ctes = [
    ...(status === 'failed'
      ? []
      : [
          `d AS (UPDATE send_deferrals SET resolved_at = now() WHERE key = $3 AND resolved_at IS NULL)`,
        ]),
    ...(message ? [`m AS (${insertMessage(3)})`] : []),
  ];
  await sql.query(
    `${ctes.length > 0 ? `WITH ${ctes.join(', ')} ` : ''}UPDATE side_effects SET status = $1, result = $2::jsonb, updated_at = now() WHERE key = $3`,
    [status, JSON.stringify(result), key, ...(message ? messageParams(message) : [])],
  );
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

/**
 * Claims the send's side-effect row (or finds the earlier claim) and reads the contact and,
 * when `category` is given, the newest reason its address may not get that category: one
 * statement, because this runs on every send.
 */
export async function claimSend(
  sql: Sql,
  req: {
    readonly key: string;
    readonly enrollmentId: string;
    readonly stepId: string;
    readonly workspaceId: string;
    readonly contactId: string;
    readonly category: string | null;
  },
): Promise<{ claimed: Claimed; contact: ContactRecord | null; suppressed: string | null }> {
  const [row] = await sql.query<{
    status: string;
    result: Prisma.JsonValue | null;
    id: string | null;
    user_id: string | null;
    email: string | null;
    attributes: Prisma.JsonValue;
    timezone: string | null;
    locale: string | null;
    suppressed: string | null;
  }>(
    `WITH claim AS (
       INSERT INTO side_effects (key, enrollment_id, step_id, kind, status, updated_at)
       VALUES ($1, $2, $3, 'sendEmail', 'started', now())
       ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
       RETURNING status, result
     )
     SELECT claim.status, claim.result, c.id, c.user_id, c.email, c.attributes, c.timezone, c.locale,
       CASE WHEN $6::text IS NOT NULL THEN (
         SELECT s.reason FROM suppressions s
         WHERE s.workspace_id = $4 AND s.email_key = lower(btrim(c.email)) AND s.scope IN ('*', $6::text)
         LIMIT 1) END AS suppressed
     FROM claim LEFT JOIN contacts c ON c.id = $5 AND c.workspace_id = $4`,
    [req.key, req.enrollmentId, req.stepId, req.workspaceId, req.contactId, req.category],
  );
  if (!row) throw new Error(`claiming ${req.key} returned no row`);
  return {
    claimed: { status: row.status, result: row.result },
    contact: row.id
      ? {
          id: row.id,
          workspaceId: req.workspaceId,
          userId: row.user_id,
          email: row.email,
          attributes: row.attributes ?? {},
          timezone: row.timezone,
          locale: row.locale,
        }
      : null,
    suppressed: row.suppressed,
  };
}
