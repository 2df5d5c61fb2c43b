import type { Contact, Prisma, PrismaClient } from '@prisma/client';

/**
 * The send activity's hot-path statements in plain SQL: each is one round trip, where the
 * Prisma model API costs several milliseconds of query planning per call on this engine
 * (measured: ~7 ms vs ~1.2 ms per query), which dominated the send rate.
 */
export interface Claimed {
  readonly status: string;
  readonly result: Prisma.JsonValue | null;
}

/** Claims the side-effect row (or finds the earlier claim) in one statement. */
export async function claimSideEffect(
  prisma: PrismaClient,
  key: string,
  enrollmentId: string,
  stepId: string,
  kind: string,
): Promise<Claimed> {
  const rows = await prisma.$queryRaw<Claimed[]>`
    INSERT INTO side_effects (key, enrollment_id, step_id, kind, status, updated_at)
    VALUES (${key}, ${enrollmentId}, ${stepId}, ${kind}, 'started', now())
    ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
    RETURNING status, result`;
  return rows[0] ?? { status: 'started', result: null };
}

export async function settleSideEffect(
  prisma: PrismaClient,
  key: string,
  status: 'done' | 'skipped' | 'failed',
  result: Prisma.InputJsonObject,
): Promise<void> {
  await prisma.$executeRaw`
    UPDATE side_effects SET status = ${status}, result = ${JSON.stringify(result)}::jsonb, updated_at = now()
    WHERE key = ${key}`;
}

/** The newest reason the address may not get this category, or null. */
export async function suppressionReason(
  prisma: PrismaClient,
  workspaceId: string,
  emailKey: string,
  category: string,
): Promise<string | null> {
  const rows = await prisma.$queryRaw<{ reason: string }[]>`
    SELECT reason FROM suppressions
    WHERE workspace_id = ${workspaceId} AND email_key = ${emailKey} AND scope IN ('*', ${category})
    LIMIT 1`;
  return rows[0]?.reason ?? null;
}

/** Records the message (what the cap counts and tracking checks) when no rule applies. */
export async function recordMessage(
  prisma: PrismaClient,
  m: {
    id: string;
    workspaceId: string;
    contactId: string;
    enrollmentId: string;
    stepId: string;
    category: string;
    countsToCap: boolean;
    links: readonly string[];
  },
): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO email_messages (id, workspace_id, contact_id, enrollment_id, step_id, category, counts_to_cap, links, sent_at)
    VALUES (${m.id}, ${m.workspaceId}, ${m.contactId}, ${m.enrollmentId}, ${m.stepId}, ${m.category}, ${m.countsToCap}, ${[...m.links]}::text[], now())
    ON CONFLICT (id) DO NOTHING`;
}

export async function resolveDeferrals(prisma: PrismaClient, key: string): Promise<void> {
  await prisma.$executeRaw`UPDATE send_deferrals SET resolved_at = now() WHERE key = ${key} AND resolved_at IS NULL`;
}

/**
 * The contact, read with the columns of the Contact model. Kept beside the model: a column
 * added to contacts must be added here too (tests/mail compare this with `findFirst`).
 */
export async function loadContact(
  prisma: PrismaClient,
  workspaceId: string,
  contactId: string,
): Promise<Contact | null> {
  const rows = await prisma.$queryRaw<Contact[]>`
    SELECT id, workspace_id AS "workspaceId", user_id AS "userId", email, email_key AS "emailKey",
           anonymous_ids AS "anonymousIds", attributes, timezone, locale,
           created_at AS "createdAt", updated_at AS "updatedAt"
    FROM contacts WHERE id = ${contactId} AND workspace_id = ${workspaceId}`;
  return rows[0] ?? null;
}
