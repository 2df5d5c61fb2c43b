import type { Contact } from '@prisma/client';
import { evaluate } from '../../core/index.js';
import { emailKeyOf, suppress, type RecipientRef } from '../../mail/index.js';
import { exitSignal } from '../../workflows/index.js';
import { RUNNING_STATUSES, signalEnrollment } from '../signal.js';
import { tombstoneOf } from '../contacts/erase.js';
import { changeTags } from '../contacts/tags.js';
import type { EngineDeps } from '../deps.js';
import { loadContactFacts } from '../facts.js';
import { readStoredPlan } from '../stored-plan.js';
import { recordSystemEvent } from './system-event.js';

export interface UnsubscribeResult {
  /** False when the address was already unsubscribed from this scope. */
  readonly changed: boolean;
  /** Enrollments told to exit because their suppression rule now matches. */
  readonly exited: readonly string[];
}

/**
 * Unsubscribes an address in one step: the suppression row is written first, so the very
 * next send (which checks it) is already refused; then, on the contact the link is about now
 * (`linkedContact`), `contact.unsubscribed` and the `unsubscribed` tag are set (for
 * all-marketing unsubscribes), the `email.unsubscribed` event (the name score rules use) is
 * recorded, scored and routed, and running enrollments whose suppression rule now matches get
 * the exit signal. The event holds no address, in its properties or its id, so nothing of it
 * outlives an erasure. With no contact to write to (erased, or gone), the suppression of the
 * address is all there is to do: it is what stops the mail.
 */
export async function unsubscribe(
  deps: EngineDeps,
  ref: RecipientRef,
  scope: string,
  source: string,
): Promise<UnsubscribeResult> {
  const changed = await suppress(deps.prisma, {
    workspaceId: ref.w,
    email: ref.e,
    reason: 'unsubscribed',
    scope,
    source,
  });
  const contact = await linkedContact(deps, ref);
  if (!contact) return { changed, exited: [] };
  // A repeat (the address was unsubscribed already) does it all again, each part changing
  // nothing twice, so an unsubscribe that failed part-way after the suppression was stored is
  // finished by the next click or retry. Not for an address the contact no longer has: the
  // contact may have re-subscribed with its new one.
  const emailKey = emailKeyOf(ref.e);
  if (!changed && emailKey !== contact.emailKey) return { changed, exited: [] };
  if (scope === '*') await markUnsubscribed(deps, ref.w, contact.id, source);
  // Keyed by the suppression, so its event is recorded once however often it is repeated.
  const suppression = await deps.prisma.suppression.findFirst({
    where: { workspaceId: ref.w, emailKey, reason: 'unsubscribed', scope },
    select: { id: true },
  });
  await recordSystemEvent(deps, {
    workspaceId: ref.w,
    contactId: contact.id,
    name: 'email.unsubscribed',
    messageId: `email.unsubscribed:${contact.id}:${suppression?.id ?? `${scope}:${Date.now()}`}`,
    properties: { category: scope, source, emailMessageId: ref.m },
  });
  return { changed, exited: await exitSuppressed(deps, ref.w, contact.id, 'unsubscribed') };
}

/**
 * The contact an unsubscribe link is about now, or null when nothing may be written to one.
 * The link names the contact the email went to; a merge (engine/merge-contacts.ts) deletes
 * that one and moves its emails to the contact that stays, so the email's row names the
 * contact now. An erased contact (engine/contacts/erase.ts) counts as none: its tombstone must
 * not get tags or events again. Asks for the email only when the named contact is gone.
 */
export async function linkedContact(
  deps: Pick<EngineDeps, 'prisma'>,
  ref: RecipientRef,
): Promise<Contact | null> {
  const { prisma } = deps;
  let contact = await prisma.contact.findFirst({ where: { id: ref.c, workspaceId: ref.w } });
  if (!contact && ref.m !== null) {
    const sent = await prisma.emailMessage.findFirst({
      where: { id: ref.m, workspaceId: ref.w },
      select: { contactId: true },
    });
    contact = sent
      ? await prisma.contact.findFirst({ where: { id: sent.contactId, workspaceId: ref.w } })
      : null;
  }
  return contact && contact.userId !== tombstoneOf(contact.id) ? contact : null;
}

/**
 * Makes the unsubscribe visible to conditions: `contact.unsubscribed` is true and the contact
 * carries the `unsubscribed` tag, which is what suppression rules in the examples test. Like
 * every other writer of a contact it holds the contact's lock, so a tag or list change made at
 * the same time is not overwritten, and the tag change is recorded for the timeline.
 */
async function markUnsubscribed(
  deps: EngineDeps,
  workspaceId: string,
  contactId: string,
  source: string,
): Promise<void> {
  await changeTags(
    deps,
    workspaceId,
    contactId,
    { add: ['unsubscribed'], remove: [] },
    source,
    { unsubscribed: true },
    // The caller records `email.unsubscribed` next, which journeys hear, and then ends those
    // whose suppression holds: announced here too, they would judge it before either.
    { announce: false },
  );
}

/** Sends the exit signal to the contact's running enrollments whose suppression rule holds. */
export async function exitSuppressed(
  deps: EngineDeps,
  workspaceId: string,
  contactId: string,
  why: string,
): Promise<string[]> {
  const running = await deps.prisma.enrollment.findMany({
    where: { workspaceId, contactId, status: { in: [...RUNNING_STATUSES] } },
    include: { journeyVersion: true },
  });
  const exited: string[] = [];
  const now = Date.now();
  for (const enrollment of running) {
    // A version this Drumbeat cannot read (engine/stored-plan.ts) has no suppression rules to
    // evaluate; its marketing email is held back by the suppression list all the same.
    const read = readStoredPlan(enrollment.journeyVersion.plan);
    if (!read.ok) continue;
    const plan = read.plan;
    if (plan.suppression.length === 0) continue;
    const facts = await loadContactFacts(deps.sql, workspaceId, contactId, enrollment.id);
    if (!facts || !plan.suppression.some((c) => evaluate(c, facts, now))) continue;
    if (
      await signalEnrollment(deps.temporal, enrollment.id, exitSignal, {
        reason: `suppressed: ${why}`,
      })
    ) {
      exited.push(enrollment.id);
    }
  }
  return exited;
}
