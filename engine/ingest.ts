import { eventsIngested } from '../metrics/index.js';
import type { IdentifyWarning } from './apply-identify.js';
import { acceptMessages } from './accept.js';
import type { EngineDeps } from './deps.js';
import { routeEvents, unroutedEvents, type RouteResult } from './route.js';

/** A Segment `identify` or `track` message after request validation. */
export interface IncomingMessage {
  readonly type: 'identify' | 'track';
  readonly messageId: string;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  /**
   * The contact, when the caller already knows it (events Drumbeat observes itself, such as
   * opens and unsubscribes): then `userId` and `anonymousId` are not looked up.
   */
  readonly contactId?: string;
  readonly event: string | null;
  readonly traits: Readonly<Record<string, unknown>>;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly timestamp: Date;
}

export interface IngestResult {
  readonly eventId: string;
  readonly contactId: string | null;
  /** False when `messageId` was seen before: nothing was stored again. */
  readonly stored: boolean;
  /** Null for a repeat, unless it routed the first one's event, whose routing had failed. */
  readonly routing: RouteResult | null;
  readonly warning?: IdentifyWarning;
}

const NOTHING_ROUTED: RouteResult = { enrollments: [], signalled: 0 };

/**
 * One message, stored and scored (see `acceptMessages`) and then routed before answering, so
 * the caller sees which journeys it started. If routing fails or the process dies first, the
 * event stays unrouted: a retry of the message routes it, or the routing sweep once it is
 * stale (`runRoutingSweeper`).
 */
export async function ingest(
  deps: EngineDeps,
  workspaceId: string,
  message: IncomingMessage,
  /** Where it came from, for the `drumbeat_events_ingested_total` counter. */
  source: 'api' | 'webhook' = 'api',
  /**
   * Runs once the message is stored and before it is routed, with its contact: a write that
   * belongs with the message (the owner given when a contact is created), so journeys the
   * message starts see it, and a routing failure does not leave the contact without it.
   */
  beforeRouting?: (contactId: string) => Promise<void>,
): Promise<IngestResult> {
  const accepted = await acceptMessages(deps, workspaceId, [message], new Date(), 'now', true);
  const first = accepted.messages[0];
  if (!first) throw new Error('acceptMessages returned no result for one message');
  if (first.stored) eventsIngested.inc({ type: message.type, source });
  if (beforeRouting && first.contactId) await beforeRouting(first.contactId);
  // The event itself is routed from what is in hand; only the stage changes it caused are read.
  const own = accepted.newEventIds.includes(first.eventId);
  const caused = accepted.newEventIds.filter((id) => id !== first.eventId);
  // A repeat routes the first one's event if that is still unrouted: its routing failed and the
  // client retried, as the 500 invited. Routing it twice is harmless.
  const repeated = first.stored ? [] : await unroutedEvents(deps, [first.eventId], 1);
  // The answer does not wait for the routed mark: a crash before it commits means a re-route.
  const routed = await routeEvents(
    deps,
    [
      ...(own
        ? [
            {
              id: first.eventId,
              workspaceId,
              type: message.type,
              name: message.event,
              contactId: first.contactId,
              properties: message.type === 'identify' ? message.traits : message.properties,
            },
          ]
        : []),
      ...repeated,
      ...(caused.length > 0 ? await unroutedEvents(deps, caused, caused.length) : []),
    ],
    'later',
    accepted.snapshots,
  );
  return {
    eventId: first.eventId,
    contactId: first.contactId,
    stored: first.stored,
    routing: routed.get(first.eventId) ?? (first.stored ? NOTHING_ROUTED : null),
    ...(first.warning ? { warning: first.warning } : {}),
  };
}
