import type { Client } from '@temporalio/client';
import type { Prisma, PrismaClient } from '@prisma/client';
import { newId } from '../../store/index.js';
import { exitSignal } from '../../workflows/index.js';
import { isRecord } from '../contact-view.js';
import { lockContact } from './changes.js';
import { eraseImportRows } from './erase-import-rows.js';
import { RUNNING_STATUSES, signalEnrollment } from '../signal.js';

export interface ErasureCounts {
  readonly eventsCleared: number;
  readonly enrollmentsEnded: number;
  readonly journeyRecordsScrubbed: number;
  readonly anonymousIds: number;
  readonly attributes: number;
  /** Recorded changes (tags, owner, lists) deleted: their values can say things about the person. */
  readonly attributeChanges: number;
  /** Static lists the contact was taken off. */
  readonly listMemberships: number;
  /** Its rows taken out of the files that unfinished CSV import jobs keep. */
  readonly importRows: number;
  /** Its tasks, whose title and description were cleared. */
  readonly tasks: number;
  /** Emails sent to it whose tracked links were forgotten (a link can carry the address). */
  readonly emailLinks: number;
}

export type EraseOutcome =
  | { readonly kind: 'erased'; readonly contactId: string; readonly counts: ErasureCounts }
  | { readonly kind: 'not-found' };

/** What replaces the `userId`: keeps the unique key free and says what happened. */
export function tombstoneOf(contactId: string): string {
  return `erased:${contactId}`;
}

/**
 * Right to be forgotten. The contact row stays (enrollments, score entries and the audit point
 * at it) but loses everything personal: email, attributes, time zone, locale, anonymous ids,
 * and its `userId` becomes a tombstone so the same person identifying again starts afresh.
 * Event properties (identify traits included), message ids and recorded attribute changes are
 * cleared, as are its tasks' titles and descriptions and the tracked links of the emails it
 * was sent; the contact leaves its static lists, and
 * its rows leave the files of unfinished CSV imports.
 * Running enrollments are told to exit after the commit; a workflow already gone is fine. The
 * audit row holds only ids and counts, and its unique key makes a second erase of the same
 * contact a 404 (which tells the enrollments still running again), unless `again` is set:
 * then an erased contact that a write in flight during the erase filled again (an import
 * chunk, see import-jobs.ts) is cleared again, and the first audit stays.
 */
export async function eraseContact(
  deps: { readonly prisma: PrismaClient; readonly temporal: Client },
  workspaceId: string,
  key: string,
  options: { readonly again?: boolean } = {},
): Promise<EraseOutcome> {
  const result = await deps.prisma.$transaction(async (tx) => {
    const found = await tx.contact.findFirst({
      where: { workspaceId, OR: [{ id: key }, { userId: key }] },
      select: { id: true },
    });
    if (!found) return null;
    // Lock the row so two erasures of the same contact queue up; the second then sees the audit.
    await lockContact(tx, found.id);
    const contact = await tx.contact.findUniqueOrThrow({ where: { id: found.id } });
    const done = await tx.erasureAudit.findUnique({
      where: { workspaceId_contactId: { workspaceId, contactId: contact.id } },
    });
    // Erased already: nothing to clear, but enrollments still running are told again, for an
    // erase whose signals failed after its commit (Temporal unavailable) and that is retried.
    if (done && options.again !== true)
      return { kind: 'repeat' as const, running: await runningOf(tx, contact.id) };
    // Message ids can hold the address (`email.unsubscribed:<email>:…`); the event's own id
    // keeps each tombstone unique per workspace. Re-erasing writes the same value.
    const events = await tx.$executeRawUnsafe(
      `UPDATE events SET properties = '{}', user_id = NULL, anonymous_id = NULL,
              message_id = 'erased:' || id
        WHERE contact_id = $1`,
      contact.id,
    );
    // Titles and descriptions are rendered from the contact ("Call Ada"); a title is required.
    const tasks = await tx.task.updateMany({
      where: { contactId: contact.id },
      data: { title: '[erased]', description: null },
    });
    // Tracked links are the rendered ones (`?email={{email}}`, a name in a prefilled form):
    // forgotten, a click on an old email of the contact is no longer followed or recorded.
    const emailLinks = await tx.emailMessage.updateMany({
      where: { contactId: contact.id, NOT: { links: { isEmpty: true } } },
      data: { links: [] },
    });
    // Journeys recorded the address they mailed (side-effect results, the enrollment log).
    const scrubbed = await scrubJourneyRecords(tx, contact.id, contact.email);
    const changes = await tx.attributeChange.deleteMany({ where: { contactId: contact.id } });
    const memberships = await tx.listMembership.deleteMany({ where: { contactId: contact.id } });
    const importRows = await eraseImportRows(tx, contact);
    const running = await runningOf(tx, contact.id);
    const attributes = isRecord(contact.attributes) ? Object.keys(contact.attributes).length : 0;
    await tx.contact.update({
      where: { id: contact.id },
      data: {
        userId: tombstoneOf(contact.id),
        email: null,
        emailKey: null,
        attributes: {},
        anonymousIds: [],
        timezone: null,
        locale: null,
      },
    });
    const counts: ErasureCounts = {
      eventsCleared: events,
      enrollmentsEnded: running.length,
      journeyRecordsScrubbed: scrubbed,
      anonymousIds: contact.anonymousIds.length,
      attributes,
      attributeChanges: changes.count,
      listMemberships: memberships.count,
      importRows,
      tasks: tasks.count,
      emailLinks: emailLinks.count,
    };
    if (!done)
      await tx.erasureAudit.create({
        data: { id: newId(), workspaceId, contactId: contact.id, counts: { ...counts } },
      });
    return { kind: 'erased' as const, contactId: contact.id, counts, running };
  });
  if (!result) return { kind: 'not-found' };
  for (const id of result.running)
    await signalEnrollment(deps.temporal, id, exitSignal, { reason: 'erased' });
  if (result.kind === 'repeat') return { kind: 'not-found' };
  return { kind: 'erased', contactId: result.contactId, counts: result.counts };
}

/** The contact's enrollments whose workflow may still be running. */
async function runningOf(tx: Prisma.TransactionClient, contactId: string): Promise<string[]> {
  const rows = await tx.enrollment.findMany({
    where: { contactId, status: { in: [...RUNNING_STATUSES] } },
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

/**
 * Replaces the contact's addresses (and rendered subjects) inside the JSON journeys stored for
 * this contact: its address now and every address its emails went to (an address it had before,
 * or a merged contact's, whose enrollments moved to it), as the sends recorded them. Done on the
 * JSON text so every place an activity put an address is covered; the placeholder keeps strings
 * strings. An address holding a quote or backslash would appear escaped in that text: such
 * addresses are matched in their escaped form.
 */
async function scrubJourneyRecords(
  tx: Prisma.TransactionClient,
  contactId: string,
  email: string | null,
): Promise<number> {
  const sent = await tx.$queryRawUnsafe<{ address: string }[]>(
    `SELECT DISTINCT s.result ->> 'to' AS address FROM side_effects s
     JOIN enrollments e ON e.id = s.enrollment_id
     WHERE e.contact_id = $1 AND jsonb_typeof(s.result) = 'object' AND s.result ->> 'to' <> ''`,
    contactId,
  );
  const addresses = new Set([...(email ? [email] : []), ...sent.map((r) => r.address)]);
  let scrubbed = 0;
  for (const address of addresses) {
    const needle = JSON.stringify(address).slice(1, -1);
    scrubbed += await tx.$executeRawUnsafe(
      `UPDATE side_effects SET result = replace(result::text, $2, '[erased]')::jsonb
       WHERE enrollment_id IN (SELECT id FROM enrollments WHERE contact_id = $1)
         AND strpos(result::text, $2) > 0`,
      contactId,
      needle,
    );
    scrubbed += await tx.$executeRawUnsafe(
      `UPDATE enrollment_log SET detail = replace(detail::text, $2, '[erased]')::jsonb
       WHERE enrollment_id IN (SELECT id FROM enrollments WHERE contact_id = $1)
         AND strpos(detail::text, $2) > 0`,
      contactId,
      needle,
    );
  }
  // Subjects are rendered with the contact's attributes ("Welcome, Ada!"): blank them too.
  const subjects = await tx.$executeRawUnsafe(
    `UPDATE side_effects SET result = jsonb_set(result, '{subject}', '"[erased]"')
     WHERE enrollment_id IN (SELECT id FROM enrollments WHERE contact_id = $1)
       AND jsonb_typeof(result) = 'object' AND result ? 'subject'`,
    contactId,
  );
  const loggedSubjects = await tx.$executeRawUnsafe(
    `UPDATE enrollment_log SET detail = jsonb_set(detail, '{result,result,subject}', '"[erased]"')
     WHERE enrollment_id IN (SELECT id FROM enrollments WHERE contact_id = $1)
       AND detail #> '{result,result,subject}' IS NOT NULL`,
    contactId,
  );
  return scrubbed + subjects + loggedSubjects;
}
