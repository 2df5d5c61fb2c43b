import { evaluate } from '../../core/index.js';
import { suppress, type RecipientRef } from '../../mail/index.js';
import { exitSignal } from '../../workflows/index.js';
import { RUNNING_STATUSES, signalEnrollment } from '../signal.js';
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
 * next send (which checks it) is already refused; then `contact.unsubscribed` and the
 * `unsubscribed` tag are set (for all-marketing unsubscribes), the `email.unsubscribed` event
 * (the name score rules use) is recorded, scored and routed, and running enrollments whose
 * suppression rule now matches get the exit signal.
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
  if (!changed) return { changed, exited: [] };
  if (scope === '*') await markUnsubscribed(deps, ref.w, ref.c, source);
  await recordSystemEvent(deps, {
    workspaceId: ref.w,
    contactId: ref.c,
    name: 'email.unsubscribed',
    messageId: `email.unsubscribed:${ref.e.toLowerCase()}:${scope}:${Date.now()}`,
    properties: { email: ref.e, category: scope, source, emailMessageId: ref.m },
  });
  return { changed, exited: await exitSuppressed(deps, ref.w, ref.c, 'unsubscribed') };
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
    deps.prisma,
    workspaceId,
    contactId,
    { add: ['unsubscribed'], remove: [] },
    source,
    { unsubscribed: true },
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
