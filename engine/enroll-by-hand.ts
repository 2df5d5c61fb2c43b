import { newId } from '../store/index.js';
import type { EngineDeps } from './deps.js';
import { enroll, type EnrollOutcome } from './enroll.js';
import { journeyWithLatest, readVersionPlan, type UnreadableVersion } from './stored-plan.js';

export type HandEnrollment =
  | { readonly kind: 'enrolled'; readonly enrollmentId: string }
  | { readonly kind: 'journey-not-found' }
  | { readonly kind: 'contact-not-found' }
  /** Draft, paused or archived: nobody enters. */
  | { readonly kind: 'journey-not-active'; readonly status: string }
  | { readonly kind: 'unreadable'; readonly unreadable: UnreadableVersion }
  /** The journey's entry rules keep the contact out now. */
  | {
      readonly kind: 'refused';
      readonly reason: Exclude<
        Extract<EnrollOutcome, { enrolled: false }>['reason'],
        'contact-not-found'
      >;
      readonly enrollmentId: string | null;
    };

/**
 * Enrolls a contact in a journey by hand (a `manual` trigger's journey, or any other): the
 * journey's entry rules decide as for any trigger (`enroll`), with `properties` as the trigger
 * event's (what `{{event.…}}` and `trigger.…` read). `contact` is the contact's id or user id.
 */
export async function enrollByHand(
  deps: EngineDeps,
  workspaceId: string,
  journeyKey: string,
  contact: string,
  properties: Readonly<Record<string, unknown>>,
): Promise<HandEnrollment> {
  const named = await journeyWithLatest(deps.prisma, {
    workspaceId_key: { workspaceId, key: journeyKey },
  });
  if (!named) return { kind: 'journey-not-found' };
  const { journey, latest } = named;
  if (!latest || journey.status !== 'active')
    return { kind: 'journey-not-active', status: latest ? journey.status : 'draft' };
  const found = await deps.prisma.contact.findFirst({
    where: { workspaceId, OR: [{ id: contact }, { userId: contact }] },
    select: { id: true },
  });
  if (!found) return { kind: 'contact-not-found' };
  const read = readVersionPlan(latest);
  if (!read.ok) return { kind: 'unreadable', unreadable: read.unreadable };
  const outcome = await enroll(deps, {
    workspaceId,
    journeyId: journey.id,
    journeyVersionId: latest.id,
    plan: read.plan,
    contactId: found.id,
    trigger: { eventId: `manual:${newId()}`, name: '$manual', properties },
  });
  if (outcome.enrolled) return { kind: 'enrolled', enrollmentId: outcome.enrollmentId };
  if (outcome.reason === 'contact-not-found') return { kind: 'contact-not-found' };
  return { kind: 'refused', reason: outcome.reason, enrollmentId: outcome.enrollmentId };
}
