import { acceptMessages } from '../accept.js';
import { notErased } from '../contact-record.js';
import type { EngineDeps } from '../deps.js';
import { routeStored } from '../route-stored.js';

/**
 * Records an event Drumbeat itself observed (email.opened, email.clicked, email.bounced,
 * task_completed, ...) for a contact it already knows: stored and scored by `acceptMessages`,
 * as an accepted event is, then routed, so journeys and score rules see it. `messageId` makes
 * it idempotent: recording the same one twice stores, scores and routes it once. Nothing is
 * recorded for an erased contact (an old email's open pixel, a task completed after the erase):
 * it would be new data about the person, scored and able to start journeys; `id` is then null.
 */
export async function recordSystemEvent(
  deps: EngineDeps,
  event: {
    readonly workspaceId: string;
    readonly contactId: string;
    readonly name: string;
    readonly messageId: string;
    readonly properties: Readonly<Record<string, unknown>>;
    readonly timestamp?: Date;
  },
): Promise<{ readonly id: string | null; readonly stored: boolean }> {
  const [live] = await deps.sql.query<{ id: string }>(
    `SELECT id FROM contacts WHERE id = $1 AND workspace_id = $2 AND ${notErased('')}`,
    [event.contactId, event.workspaceId],
  );
  if (!live) return { id: null, stored: false };
  const accepted = await acceptMessages(deps, event.workspaceId, [
    {
      type: 'track',
      messageId: event.messageId,
      contactId: event.contactId,
      userId: null,
      anonymousId: null,
      event: event.name,
      traits: {},
      properties: event.properties,
      timestamp: event.timestamp ?? new Date(),
    },
  ]);
  const first = accepted.messages[0];
  if (!first) throw new Error('acceptMessages returned no result for one message');
  // A repeat routes the first one's event if that is still unrouted (the process stopped in
  // between): it finishes the job, no more.
  await routeStored(deps, first.stored ? accepted.newEventIds : [first.eventId]);
  return { id: first.eventId, stored: first.stored };
}
