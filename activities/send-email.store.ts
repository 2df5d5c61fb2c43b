import type { Prisma } from '@prisma/client';
import type { ContactRecord } from '../engine/contact-record.js';
import type { Sql } from '../store/index.js';
import type { StoredTemplateRef } from './email-content.js';

/**
 * The send activity's statements in plain SQL through the driver (store/sql.ts): a Prisma call
 * costs several times the CPU here, and each round trip and each commit showed in the send
 * rate. A send that goes out by the no-rules path makes two round trips and one commit: the
 * read before SMTP, the settlement after. Both are prepared statements on PostgreSQL, which
 * halved the database's CPU per email in the benchmark.
 */
export interface SendState {
  /** The side effect as an earlier attempt left it; null when no attempt settled it yet. */
  readonly previous: { readonly status: string; readonly result: Prisma.JsonValue | null } | null;
  readonly contact: ContactRecord | null;
  /** The newest reason the address may not get this category, when one was asked for. */
  readonly suppressed: string | null;
  /** The enrollment's journey version, for the journey's names and settings (cached). */
  readonly journeyVersionId: string | null;
  /** The workspace's stored template of that name, if there is one (it wins over a file). */
  readonly storedTemplate: StoredTemplateRef | null;
}

/**
 * Everything a send needs before SMTP in one read-only statement (no commit to wait for): the
 * earlier attempt's outcome, the contact, its suppression when `category` is given (marketing
 * mail), the enrollment's journey version and the stored template's current version. Nothing
 * is claimed before SMTP: a claim would not stop a second attempt (both would see it), and the
 * retry of a send that died before its settlement sends again either way, with the same
 * Message-ID.
 */
export async function readSend(
  sql: Sql,
  req: {
    readonly key: string;
    readonly enrollmentId: string;
    readonly workspaceId: string;
    readonly contactId: string;
    readonly category: string | null;
    readonly template: string;
  },
): Promise<SendState> {
  const [row] = await sql.query<{
    status: string | null;
    result: Prisma.JsonValue | null;
    id: string | null;
    user_id: string | null;
    email: string | null;
    attributes: Prisma.JsonValue;
    timezone: string | null;
    locale: string | null;
    suppressed: string | null;
    journey_version_id: string | null;
    template_id: string | null;
    template_version: number | null;
  }>(
    `SELECT f.status, f.result, c.id, c.user_id, c.email, c.attributes, c.timezone, c.locale,
       CASE WHEN $5::text IS NOT NULL THEN (
         SELECT s.reason FROM suppressions s
         WHERE s.workspace_id = $2 AND s.email_key = lower(btrim(c.email)) AND s.scope IN ('*', $5::text)
         LIMIT 1) END AS suppressed,
       (SELECT n.journey_version_id FROM enrollments n WHERE n.id = $4) AS journey_version_id,
       t.id AS template_id, t.current_version AS template_version
     FROM (SELECT 1) AS one
     LEFT JOIN side_effects f ON f.key = $1
     LEFT JOIN contacts c ON c.id = $3 AND c.workspace_id = $2
     LEFT JOIN email_templates t ON t.workspace_id = $2 AND t.name = $6`,
    [req.key, req.workspaceId, req.contactId, req.enrollmentId, req.category, req.template],
    { name: 'send-email-read' },
  );
  if (!row) throw new Error(`reading send ${req.key} returned no row`);
  return {
    previous: row.status === null ? null : { status: row.status, result: row.result },
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
    journeyVersionId: row.journey_version_id,
    storedTemplate:
      row.template_id !== null && row.template_version !== null
        ? { id: row.template_id, version: row.template_version }
        : null,
  };
}

/** Which side effect a settlement is for; its row is made by the settlement if need be. */
export interface SideEffectKey {
  readonly key: string;
  readonly enrollmentId: string;
  readonly stepId: string;
}

/**
 * Records the send's outcome in one statement (one commit) with what goes with it: a sent or
 * skipped email ends the send's deferrals, `message` records the sent email when no send rule
 * had to reserve it beforehand, and `unreserve` drops the reservation of an email the relay
 * refused for good.
 */
export async function settleSideEffect(
  sql: Sql,
  effect: SideEffectKey,
  status: 'done' | 'skipped' | 'failed',
  result: Prisma.InputJsonObject,
  extra: { readonly message?: MessageRow | null; readonly unreserve?: string } = {},
): Promise<void> {
  const params: unknown[] = [
    effect.key,
    effect.enrollmentId,
    effect.stepId,
    status,
    JSON.stringify(result),
  ];
  const ctes: string[] = [];
  // The statement's text depends on what goes with it; each variant is prepared once.
  const variant = `${status === 'failed' ? 'f' : 's'}${extra.message ? 'm' : ''}${extra.unreserve === undefined ? '' : 'u'}`;
  if (status !== 'failed')
    ctes.push(
      `d AS (UPDATE send_deferrals SET resolved_at = now() WHERE key = $1 AND resolved_at IS NULL)`,
    );
  if (extra.message) {
    ctes.push(`m AS (${insertMessage(params.length)})`);
    params.push(...messageParams(extra.message));
  }
  if (extra.unreserve !== undefined) {
    params.push(extra.unreserve);
    ctes.push(`r AS (DELETE FROM email_messages WHERE id = $${params.length})`);
  }
  await sql.query(
    `${ctes.length > 0 ? `WITH ${ctes.join(', ')} ` : ''}INSERT INTO side_effects (key, enrollment_id, step_id, kind, status, result, updated_at)
     VALUES ($1, $2, $3, 'sendEmail', $4, $5::jsonb, now())
     ON CONFLICT (key) DO UPDATE SET status = EXCLUDED.status, result = EXCLUDED.result, updated_at = now()`,
    params,
    { name: `send-email-settle-${variant}` },
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
