import type { Prisma } from '@prisma/client';
import { isRecord } from './contact-view.js';
import { mirrorLists } from './contacts/lists.js';
import { rescoreContact } from './rescore-contact.js';
import type { ActiveScoringPlan } from './scoring-plans.js';

/**
 * Merges a duplicate (an anonymous visitor, an imported row with the same email) into the
 * contact that stays: its events, score entries, enrollments, list memberships and recorded
 * changes move over, its anonymous ids, attributes and owner fill gaps (the staying contact
 * wins on conflicts), then scores are recomputed from the merged history.
 */
export async function mergeContacts(
  tx: Prisma.TransactionClient,
  active: readonly ActiveScoringPlan[],
  fromId: string,
  intoId: string,
): Promise<void> {
  const [from, into] = await Promise.all([
    tx.contact.findUnique({ where: { id: fromId } }),
    tx.contact.findUnique({ where: { id: intoId } }),
  ]);
  if (!from || !into || from.id === into.id) return;
  await tx.event.updateMany({ where: { contactId: fromId }, data: { contactId: intoId } });
  await tx.enrollment.updateMany({ where: { contactId: fromId }, data: { contactId: intoId } });
  await tx.scoreEntry.deleteMany({ where: { contactId: fromId } });
  await tx.scoreCap.deleteMany({ where: { contactId: fromId } });
  await tx.contactScore.deleteMany({ where: { contactId: fromId } });
  await tx.attributeChange.updateMany({
    where: { contactId: fromId },
    data: { contactId: intoId },
  });
  // List memberships move over (the staying contact's copy in attributes.lists follows below).
  await tx.$executeRawUnsafe(
    `INSERT INTO list_memberships (list_id, contact_id, source, added_at)
     SELECT list_id, $2, source, added_at FROM list_memberships WHERE contact_id = $1
     ON CONFLICT DO NOTHING`,
    fromId,
    intoId,
  );
  await tx.contact.delete({ where: { id: fromId } });
  const attributes = {
    ...(isRecord(from.attributes) ? from.attributes : {}),
    ...(isRecord(into.attributes) ? into.attributes : {}),
  };
  await tx.contact.update({
    where: { id: intoId },
    data: {
      attributes: JSON.parse(JSON.stringify(attributes)) as Prisma.InputJsonObject,
      anonymousIds: [...new Set([...into.anonymousIds, ...from.anonymousIds])],
      email: into.email ?? from.email,
      emailKey: into.emailKey ?? from.emailKey,
      timezone: into.timezone ?? from.timezone,
      locale: into.locale ?? from.locale,
      ownerId: into.ownerId ?? from.ownerId,
    },
  });
  await mirrorLists(tx, into.workspaceId, intoId, 'merge');
  for (const model of active) await rescoreContact(tx, model, intoId);
}
