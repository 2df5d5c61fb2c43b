import { newId, type Sql } from '../store/index.js';
import { emailKeyOf } from './apply-identify.js';
import type { IncomingMessage } from './ingest.js';

/**
 * Finds or creates the contact of every message: its `contactId` when the caller knew it (taken
 * as given, unchecked), else by `userId`, else by `anonymousId` (an anonymous contact until
 * identified). Set-based (a few statements per batch whatever its size), because this is on
 * the ingest path. A message with both ids whose anonymous contact has no `userId` yet promotes
 * that contact, so its history carries on under the `userId`.
 */
export async function resolveContacts(
  sql: Sql,
  workspaceId: string,
  all: readonly IncomingMessage[],
): Promise<(string | null)[]> {
  const messages = all.filter((m) => !m.contactId);
  const userIds = unique(messages.flatMap((m) => (m.userId ? [m.userId] : [])));
  const byUser = await contactsByUserId(sql, workspaceId, userIds);

  // Promote anonymous contacts that are now identified (userId + anonymousId, no user yet).
  for (const m of messages) {
    if (!m.userId || !m.anonymousId || byUser.has(m.userId)) continue;
    const promoted = await sql.query<{ id: string }>(
      `UPDATE contacts SET user_id = $3, updated_at = now()
       WHERE id = (SELECT id FROM contacts WHERE workspace_id = $1 AND anonymous_ids @> ARRAY[$2]::text[] AND user_id IS NULL LIMIT 1)
         AND NOT EXISTS (SELECT 1 FROM contacts WHERE workspace_id = $1 AND user_id = $3)
       RETURNING id`,
      [workspaceId, m.anonymousId, m.userId],
    );
    if (promoted[0]) byUser.set(m.userId, promoted[0].id);
  }

  const missing = userIds.filter((u) => !byUser.has(u));
  if (missing.length > 0) {
    await sql.query(
      `INSERT INTO contacts (id, workspace_id, user_id, updated_at)
       SELECT i, $1, u, now() FROM unnest($2::text[], $3::text[]) AS t(i, u) ORDER BY u
       ON CONFLICT (workspace_id, user_id) DO NOTHING`,
      [workspaceId, missing.map(() => newId()), missing],
    );
    for (const [u, id] of await contactsByUserId(sql, workspaceId, missing)) byUser.set(u, id);
  }

  const anonymous = unique(
    messages.flatMap((m) => (!m.userId && m.anonymousId ? [m.anonymousId] : [])),
  );
  const byAnon = new Map<string, string>();
  for (const a of anonymous) byAnon.set(a, await anonymousContact(sql, workspaceId, a));

  return all.map(
    (m) =>
      m.contactId ??
      (m.userId
        ? (byUser.get(m.userId) ?? null)
        : m.anonymousId
          ? (byAnon.get(m.anonymousId) ?? null)
          : null),
  );
}

/**
 * The contact that holds this email, compared as identify deduplicates emails (trimmed,
 * without regard to case), or null when none does.
 */
export async function contactWithEmail(
  sql: Sql,
  workspaceId: string,
  email: string,
): Promise<{ readonly id: string; readonly userId: string | null } | null> {
  const key = emailKeyOf(email);
  if (key === null) return null;
  const [found] = await sql.query<{ id: string; user_id: string | null }>(
    `SELECT id, user_id FROM contacts WHERE workspace_id = $1 AND email_key = $2`,
    [workspaceId, key],
  );
  return found ? { id: found.id, userId: found.user_id } : null;
}

async function contactsByUserId(
  sql: Sql,
  workspaceId: string,
  userIds: readonly string[],
): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await sql.query<{ id: string; user_id: string }>(
    `SELECT id, user_id FROM contacts WHERE workspace_id = $1 AND user_id = ANY($2::text[])`,
    [workspaceId, userIds],
  );
  return new Map(rows.map((r) => [r.user_id, r.id] as const));
}

/** The contact an anonymous id belongs to, created under a lock so two requests make one. */
async function anonymousContact(
  sql: Sql,
  workspaceId: string,
  anonymousId: string,
): Promise<string> {
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
      `anon:${workspaceId}:${anonymousId}`,
    ]);
    const found = await tx.query<{ id: string }>(
      `SELECT id FROM contacts WHERE workspace_id = $1 AND anonymous_ids @> ARRAY[$2]::text[] ORDER BY user_id NULLS LAST LIMIT 1`,
      [workspaceId, anonymousId],
    );
    if (found[0]) return found[0].id;
    const id = newId();
    await tx.query(
      `INSERT INTO contacts (id, workspace_id, anonymous_ids, updated_at) VALUES ($1, $2, ARRAY[$3]::text[], now())`,
      [id, workspaceId, anonymousId],
    );
    return id;
  });
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
