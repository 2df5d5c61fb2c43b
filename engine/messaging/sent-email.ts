import type { EmailMessage } from '@prisma/client';
import type { EngineDeps } from '../deps.js';

export type SentEmail = Pick<EmailMessage, 'id' | 'enrollmentId' | 'stepId' | 'category'>;

/**
 * What every event about one sent email carries (opens, clicks, bounces, complaints): the
 * email's id and the enrollment and step that sent it, which `emailActivity` conditions read.
 */
export function sentEmailProperties(email: SentEmail) {
  return {
    emailMessageId: email.id,
    enrollmentId: email.enrollmentId,
    step: email.stepId,
    category: email.category,
  };
}

/**
 * The email a relay's report is about, from the Message-ID the relay gives back: as Drumbeat
 * sent it (`<id@domain>`), without the brackets, or the bare id. Only an email sent to that
 * contact in that workspace counts; null for an id that is not one of those (another sender's,
 * or none given), so the report stays the contact's without a step.
 */
export async function sentEmailOf(
  deps: Pick<EngineDeps, 'prisma'>,
  workspaceId: string,
  contactId: string,
  reported: string | undefined,
): Promise<SentEmail | null> {
  const id = reported && /^<?([^<>@\s]+)(?:@[^<>\s]*)?>?$/.exec(reported.trim())?.[1];
  if (!id) return null;
  return deps.prisma.emailMessage.findFirst({
    where: { id, workspaceId, contactId },
    select: { id: true, enrollmentId: true, stepId: true, category: true },
  });
}
