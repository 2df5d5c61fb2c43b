import type { Prisma } from '@prisma/client';
import { isRecord } from './contact-view.js';
import { recordChange } from './contacts/changes.js';
import { mirrorLists } from './contacts/lists.js';
import { tagsOf } from './contacts/tags.js';
import { rescoreContact } from './rescore-contact.js';
import type { ActiveScoringPlan } from './scoring-plans.js';

/** A merge done: `from` no longer exists, what it had belongs to `into`. */
export interface Merge {
  readonly from: string;
  readonly into: string;
}

/**
 * Merges a duplicate (an anonymous visitor, an imported row with the same email) into the
 * contact that stays: its events, score entries, enrollments, tasks, emails sent, deferred
 * sends, list memberships and recorded changes move over, its anonymous ids, attributes and
 * owner fill gaps (the staying contact wins on conflicts; tags are combined), then scores are
 * recomputed from the merged history. Null when there was nothing to merge.
 */
export async function mergeContacts(
  tx: Prisma.TransactionClient,
  active: readonly ActiveScoringPlan[],
  fromId: string,
  intoId: string,
): Promise<Merge | null> {
  const [from, into] = await Promise.all([
    tx.contact.findUnique({ where: { id: fromId } }),
    tx.contact.findUnique({ where: { id: intoId } }),
  ]);
  if (!from || !into || from.id === into.id) return null;
  const moved = { where: { contactId: fromId }, data: { contactId: intoId } };
  await tx.event.updateMany(moved);
  await tx.enrollment.updateMany(moved);
  // The frequency cap counts the emails sent to either, and a task stays with its person.
  await tx.task.updateMany(moved);
  await tx.emailMessage.updateMany(moved);
  await tx.sendDeferral.updateMany(moved);
  await tx.scoreEntry.deleteMany({ where: { contactId: fromId } });
  await tx.scoreCap.deleteMany({ where: { contactId: fromId } });
  await tx.contactScore.deleteMany({ where: { contactId: fromId } });
  // Whether the staying contact matches a condition trigger is its own next event's question.
  await tx.conditionMatch.deleteMany({ where: { contactId: fromId } });
  await tx.attributeChange.updateMany(moved);
  // List memberships move over (the staying contact's copy in attributes.lists follows below).
  await tx.$executeRawUnsafe(
    `INSERT INTO list_memberships (list_id, contact_id, source, added_at)
     SELECT list_id, $2, source, added_at FROM list_memberships WHERE contact_id = $1
     ON CONFLICT DO NOTHING`,
    fromId,
    intoId,
  );
  await tx.contact.delete({ where: { id: fromId } });
  const fromAttributes = isRecord(from.attributes) ? from.attributes : {};
  const intoAttributes = isRecord(into.attributes) ? into.attributes : {};
  const attributes: Record<string, unknown> = { ...fromAttributes, ...intoAttributes };
  // Tags are combined rather than won: a tag such as `unsubscribed` must not be lost.
  const tagsBefore = tagsOf(intoAttributes.tags);
  const tags = [...new Set([...tagsBefore, ...tagsOf(fromAttributes.tags)])];
  if ('tags' in attributes) attributes.tags = tags;
  // Points journeys gave by hand (`adjustScore`) add up: each contact earned its own.
  const scores = addedScores(fromAttributes.scores, intoAttributes.scores);
  if (scores) attributes.scores = scores;
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
  await recordChange(tx, {
    workspaceId: into.workspaceId,
    contactId: intoId,
    attribute: 'tags',
    before: tagsBefore,
    after: tags,
    source: 'merge',
  });
  await mirrorLists(tx, into.workspaceId, intoId, 'merge');
  for (const model of active) await rescoreContact(tx, model, intoId);
  return { from: fromId, into: intoId };
}

/** Two contacts' manual score adjustments, summed per score name; null when neither has any. */
function addedScores(from: unknown, into: unknown): Record<string, number> | null {
  if (!isRecord(from) && !isRecord(into)) return null;
  const sum: Record<string, number> = {};
  for (const side of [from, into])
    if (isRecord(side))
      for (const [name, points] of Object.entries(side))
        if (typeof points === 'number') sum[name] = (sum[name] ?? 0) + points;
  return sum;
}
