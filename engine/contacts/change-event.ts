import type { Prisma } from '@prisma/client';
import { newId, sqlTime } from '../../store/index.js';

/**
 * The event that tells journeys a contact changed outside an identify: tags or lists (through
 * the API, an unsubscribe, a journey step) or attributes and manual points (a journey step). An
 * identify is routed as `$identify`; these changes had no event at all, so a condition trigger,
 * a condition goal or a wait for a condition saw them only at the contact's next event or the
 * wait's next recheck.
 */
export const CONTACT_CHANGED_EVENT = 'contact_changed';

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
 * Stores the event in the caller's transaction, so it commits with the change, unrouted: the
 * caller routes it after the commit (`routeStored`), and the routing sweep does if the process
 * stops in between. It is left to the scorer too, which moves the stage when the change moved
 * the fit (as it does for an identify). Returns the event's id.
 */
export async function storeChangeEvent(
  tx: Prisma.TransactionClient,
  change: ContactChanged,
): Promise<string> {
  const id = newId();
  const properties = {
    attributes: change.attributes,
    source: change.source,
    ...(change.enrollmentId ? { enrollmentId: change.enrollmentId } : {}),
  };
  await tx.$executeRawUnsafe(
    `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, properties, timestamp, received_at, score_xid)
     SELECT $1, $2, $3, 'track', $4, c.id, c.user_id, $5::jsonb, $6::timestamp(3), $6::timestamp(3), pg_current_xact_id()
     FROM contacts c WHERE c.id = $7`,
    id,
    change.workspaceId,
    `change:${id}`,
    CONTACT_CHANGED_EVENT,
    JSON.stringify(properties),
    sqlTime(Date.now()),
    change.contactId,
  );
  return id;
}

/** The enrollment that made a `contact_changed` event, which routing does not tell of it. */
export function changedBy(name: string | null, properties: unknown): string | null {
  if (name !== CONTACT_CHANGED_EVENT || typeof properties !== 'object' || properties === null)
    return null;
  const by = (properties as { enrollmentId?: unknown }).enrollmentId;
  return typeof by === 'string' ? by : null;
}
