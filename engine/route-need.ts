import type { Sql } from '../store/index.js';
import type { JourneyInterest } from './journeys.js';
import { RUNNING_STATUSES } from './signal.js';

/** Whether a stored event needs routing: `contactId` null means no contact, so never. */
export type RoutingNeed = (contactId: string | null, eventName: string | null) => boolean;

/**
 * Decides, when events are accepted, which of them any journey could care about: those of
 * contacts with running enrollments (or with events still waiting to be routed, which may be
 * about to enroll them), those whose name triggers an active journey, and all of them when a
 * journey watches conditions. The rest are stored as routed already, which saves the write
 * that marks them routed later; most of a firehose is page views no journey listens to.
 */
export async function routingNeed(
  interest: JourneyInterest,
  tx: Sql,
  contactIds: readonly (string | null)[],
): Promise<RoutingNeed> {
  if (interest.conditions) return (contactId) => contactId !== null;
  const names = interest.events;
  const ids = [...new Set(contactIds.filter((id) => id !== null))];
  const busy =
    ids.length === 0
      ? new Set<string>()
      : new Set(
          (
            await tx.query<{ contact_id: string }>(
              `SELECT contact_id FROM enrollments WHERE contact_id = ANY($1::text[]) AND status = ANY($2::text[])
               UNION
               SELECT contact_id FROM events WHERE routed_at IS NULL AND contact_id = ANY($1::text[])`,
              [ids, RUNNING_STATUSES],
            )
          ).map((r) => r.contact_id),
        );
  return (contactId, eventName) =>
    contactId !== null && (busy.has(contactId) || (eventName !== null && names.has(eventName)));
}

/**
 * Once one event of a contact in a batch needs routing, its later ones do too: the first may
 * enroll the contact in a journey that waits for them.
 */
export function spreadByContact(
  rows: readonly { readonly contactId: string | null; readonly route: boolean }[],
): boolean[] {
  const routed = new Set(rows.flatMap((r) => (r.route && r.contactId ? [r.contactId] : [])));
  return rows.map((r) => r.contactId !== null && routed.has(r.contactId));
}
