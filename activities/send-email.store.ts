import type { Prisma } from '@prisma/client';
import type { ContactRecord } from '../engine/contact-record.js';
import { coalescePerHandle, type Sql } from '../store/index.js';
import type { StoredTemplateRef } from './email-content.js';

/**
 * The send activity's statements in plain SQL through the driver (store/sql.ts): a Prisma call
 * costs several times the CPU here, and each round trip and each commit showed in the send
 * rate. A send that goes out by the no-rules path makes two round trips and one commit: the
 * read before SMTP, the settlement after, each shared with the sends beside it. Both are
 * prepared statements on PostgreSQL, which halved the database's CPU per email in the
 * benchmark.
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

/** What one send asks `readSend` for. */
export interface SendRead {
  readonly key: string;
  readonly enrollmentId: string;
  readonly workspaceId: string;
  readonly contactId: string;
  readonly category: string | null;
  readonly template: string;
}

/**
 * Everything a send needs before SMTP in one read-only statement (no commit to wait for): the
 * earlier attempt's outcome, the contact, its suppression when `category` is given (marketing
 * mail), the enrollment's journey version and the stored template's current version. Nothing
 * is claimed before SMTP: a claim would not stop a second attempt (both would see it), and the
 * retry of a send that died before its settlement sends again either way, with the same
 * Message-ID. Sends reading at the same moment share the statement (see store/coalesce.ts).
 */
export function readSend(sql: Sql, req: SendRead): Promise<SendState> {
  return sharedRead(sql, req);
}

const sharedRead = coalescePerHandle(readSends);

async function readSends(sql: Sql, batch: readonly SendRead[]): Promise<SendState[]> {
  const rows = await sql.query<{
    n: string;
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
    `SELECT i.n, f.status, f.result, c.id, c.user_id, c.email, c.attributes, c.timezone, c.locale,
       CASE WHEN i.category IS NOT NULL THEN (
         SELECT s.reason FROM suppressions s
         WHERE s.workspace_id = i.workspace_id AND s.email_key = lower(btrim(c.email))
           AND s.scope IN ('*', i.category)
         LIMIT 1) END AS suppressed,
       (SELECT e.journey_version_id FROM enrollments e WHERE e.id = i.enrollment_id) AS journey_version_id,
       t.id AS template_id, t.current_version AS template_version
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       WITH ORDINALITY AS i(key, workspace_id, contact_id, enrollment_id, category, template, n)
     LEFT JOIN side_effects f ON f.key = i.key
     LEFT JOIN contacts c ON c.id = i.contact_id AND c.workspace_id = i.workspace_id
     LEFT JOIN email_templates t ON t.workspace_id = i.workspace_id AND t.name = i.template`,
    [
      batch.map((r) => r.key),
      batch.map((r) => r.workspaceId),
      batch.map((r) => r.contactId),
      batch.map((r) => r.enrollmentId),
      batch.map((r) => r.category),
      batch.map((r) => r.template),
    ],
    { name: 'send-email-read' },
  );
  const byOrdinal = new Map(rows.map((row) => [Number(row.n), row]));
  return batch.map((req, i) => {
    const row = byOrdinal.get(i + 1);
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
  });
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
 * refused for good. Sends settling at the same moment share the statement and its commit.
 */
export function settleSideEffect(
  sql: Sql,
  effect: SideEffectKey,
  status: 'done' | 'skipped' | 'failed',
  result: Prisma.InputJsonObject,
  extra: { readonly message?: MessageRow | null; readonly unreserve?: string } = {},
): Promise<void> {
  return sharedSettle(sql, {
    effect,
    status,
    result,
    message: extra.message ?? null,
    unreserve: extra.unreserve ?? null,
  });
}

interface Settlement {
  readonly effect: SideEffectKey;
  readonly status: 'done' | 'skipped' | 'failed';
  readonly result: Prisma.InputJsonObject;
  readonly message: MessageRow | null;
  readonly unreserve: string | null;
}

/**
 * One statement for the batch. A key settled twice in one batch (a retry beside the attempt it
 * repeats) cannot be upserted twice by one statement, so the later one goes in the next.
 */
async function settleAll(sql: Sql, batch: readonly Settlement[]): Promise<void[]> {
  const keys = new Set<string>();
  const now: Settlement[] = [];
  const after: Settlement[] = [];
  for (const s of batch) {
    (keys.has(s.effect.key) ? after : now).push(s);
    keys.add(s.effect.key);
  }
  const messages = now.flatMap((s) => (s.message ? [s.message] : []));
  await sql.query(
    `WITH d AS (
       UPDATE send_deferrals SET resolved_at = now()
       WHERE key = ANY($2::text[]) AND resolved_at IS NULL),
     m AS (
       INSERT INTO email_messages (id, workspace_id, contact_id, enrollment_id, step_id, category, counts_to_cap, links, sent_at)
       SELECT m.id, m.workspace_id, m.contact_id, m.enrollment_id, m.step_id, m.category, m.counts_to_cap,
         ARRAY(SELECT jsonb_array_elements_text(m.links)), now()
       FROM jsonb_to_recordset($3::jsonb) AS m(id text, workspace_id text, contact_id text,
         enrollment_id text, step_id text, category text, counts_to_cap boolean, links jsonb)
       ON CONFLICT (id) DO NOTHING),
     r AS (DELETE FROM email_messages WHERE id = ANY($4::text[]))
     INSERT INTO side_effects (key, enrollment_id, step_id, kind, status, result, updated_at)
     SELECT e.key, e.enrollment_id, e.step_id, 'sendEmail', e.status, e.result, now()
     FROM jsonb_to_recordset($1::jsonb) AS e(key text, enrollment_id text, step_id text, status text, result jsonb)
     ORDER BY e.key
     ON CONFLICT (key) DO UPDATE SET status = EXCLUDED.status, result = EXCLUDED.result, updated_at = now()`,
    [
      JSON.stringify(
        now.map((s) => ({
          key: s.effect.key,
          enrollment_id: s.effect.enrollmentId,
          step_id: s.effect.stepId,
          status: s.status,
          result: s.result,
        })),
      ),
      // Only a sent or skipped email ends its deferrals.
      now.filter((s) => s.status !== 'failed').map((s) => s.effect.key),
      JSON.stringify(
        messages.map((m) => ({
          id: m.id,
          workspace_id: m.workspaceId,
          contact_id: m.contactId,
          enrollment_id: m.enrollmentId,
          step_id: m.stepId,
          category: m.category,
          counts_to_cap: m.countsToCap,
          links: m.links,
        })),
      ),
      now.flatMap((s) => (s.unreserve === null ? [] : [s.unreserve])),
    ],
    { name: 'send-email-settle' },
  );
  if (after.length > 0) await settleAll(sql, after);
  return batch.map(() => undefined);
}

const sharedSettle = coalescePerHandle(settleAll);

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
