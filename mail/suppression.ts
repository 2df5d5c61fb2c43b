import type { PrismaClient } from '@prisma/client';
import { isUniqueViolation } from '../store/index.js';
import { randomUUID } from 'node:crypto';

/**
 * The suppression list: who gets no marketing email, and why. Scope "*" means every
 * non-transactional category; otherwise one category (from the preferences page).
 */
export type SuppressionReason = 'unsubscribed' | 'bounced' | 'complained';

export function emailKeyOf(email: string): string {
  return email.trim().toLowerCase();
}

/** Why this address may not receive an email of this category, or null when it may. */
export async function suppressionFor(
  prisma: PrismaClient,
  workspaceId: string,
  email: string,
  category: string,
): Promise<SuppressionReason | null> {
  const row = await prisma.suppression.findFirst({
    where: { workspaceId, emailKey: emailKeyOf(email), scope: { in: ['*', category] } },
    select: { reason: true },
  });
  if (!row) return null;
  const r = row.reason;
  return r === 'bounced' || r === 'complained' ? r : 'unsubscribed';
}

/** Records a suppression; repeating it changes nothing. Returns true when it is new. */
export async function suppress(
  prisma: PrismaClient,
  entry: {
    workspaceId: string;
    email: string;
    reason: SuppressionReason;
    scope: string;
    source: string;
  },
): Promise<boolean> {
  try {
    await prisma.suppression.create({
      data: {
        id: randomUUID(),
        workspaceId: entry.workspaceId,
        emailKey: emailKeyOf(entry.email),
        reason: entry.reason,
        scope: entry.scope,
        source: entry.source,
      },
    });
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}
