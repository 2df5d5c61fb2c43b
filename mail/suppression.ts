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

/**
 * The event a bounce or complaint becomes on the contact's timeline, dotted like every other
 * email event (`email.opened`, `email.unsubscribed`), so score rules and triggers name it once.
 */
export const ADDRESS_EVENTS = {
  bounced: 'email.bounced',
  complained: 'email.complained',
} as const satisfies Record<Exclude<SuppressionReason, 'unsubscribed'>, string>;

/** A stored suppression reason as sends report it (anything else counts as an unsubscribe). */
export function suppressionReasonOf(stored: unknown): SuppressionReason {
  return stored === 'bounced' || stored === 'complained' ? stored : 'unsubscribed';
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
