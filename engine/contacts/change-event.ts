import type { Prisma } from '@prisma/client';
import { newId, sqlTime } from '../../store/index.js';
import type { JourneyInterest } from '../journeys.js';
import { busyContactsSql } from '../route-need.js';

/**
 * The event that tells journeys a contact changed outside an identify: tags or lists (through
 * the API, an unsubscribe, a journey step) or attributes and manual points (a journey step). An
 * identify is routed as `$identify`; these changes had no event at all, so a condition trigger,
 * a condition goal or a wait for a condition saw them only at the contact's next event or the
 * wait's next recheck. The `$` keeps it apart from the names clients track.
 */
export const CONTACT_CHANGED_EVENT = '$contact_changed';

export interface ContactChanged {
  readonly workspaceId: string;
  readonly contactId: string;
  /** What changed: `tags`, `lists`, an attribute's name, `scores`. */
  readonly attributes: readonly string[];
  /** Who changed it, as the change log says: `api`, `journey step …`. */
  readonly source: string;
  /** The enrollment whose step made the change: it is not told of its own change. */
  readonly enrollmentId?: string;
}

/**
 * Stores the event in the caller's transaction, so it commits with the change. It is left
 * unrouted when a journey may care (the contact has running enrollments or events waiting to be
 * routed, a journey has a condition trigger or triggers on this event; `interest` null: unknown,
 * so any may) and stored as routed otherwise, as accepted events are (engine/route-need.ts). The
 * caller routes the first kind after the commit (`routeChanges`); the routing sweep does if the
 * process stops in between. Either way the scorer takes it too, and moves the stage when the
 * change moved the fit, as it does for an identify. Returns the event's id when it is to be
 * routed, else null.
 */
export async function storeChangeEvent(
  tx: Prisma.TransactionClient,
  change: ContactChanged,
  interest: JourneyInterest | null,
): Promise<string | null> {
  const id = newId();
  const properties = {
    attributes: change.attributes,
    source: change.source,
    ...(change.enrollmentId ? { enrollmentId: change.enrollmentId } : {}),
  };
  const rows = await tx.$queryRawUnsafe<{ route: boolean }[]>(
    `WITH busy AS (${busyContactsSql('ARRAY[$7]::text[]')})
     INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, properties, timestamp, received_at, routed_at, score_xid)
     SELECT $1, $2, $3, 'track', $4, c.id, c.user_id, $5::jsonb, $6::timestamp(3), $6::timestamp(3),
       CASE WHEN $8::bool OR c.id IN (SELECT contact_id FROM busy) THEN NULL ELSE $6::timestamp(3) END,
       pg_current_xact_id()
     FROM contacts c WHERE c.id = $7
     RETURNING routed_at IS NULL AS route`,
    id,
    change.workspaceId,
    `change:${id}`,
    CONTACT_CHANGED_EVENT,
    JSON.stringify(properties),
    sqlTime(Date.now()),
    change.contactId,
    !interest || interest.conditions || interest.events.has(CONTACT_CHANGED_EVENT),
  );
  return rows[0]?.route ? id : null;
}

/** The enrollment that made a `$contact_changed` event, which routing does not tell of it. */
export function changedBy(name: string | null, properties: unknown): string | null {
  if (name !== CONTACT_CHANGED_EVENT || typeof properties !== 'object' || properties === null)
    return null;
  const by = (properties as { enrollmentId?: unknown }).enrollmentId;
  return typeof by === 'string' ? by : null;
}
