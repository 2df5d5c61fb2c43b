import type { EngineDeps } from './deps.js';
import { marksWritten } from './mark-routed.js';
import { routeEvents, unroutedEvents, type RouteResult } from './route.js';
import { settleScores } from './scorer.js';

/** Routes freshly stored events, in the order they were stored. */
export async function routeStored(
  deps: EngineDeps,
  eventIds: readonly string[],
): Promise<Map<string, RouteResult>> {
  if (eventIds.length === 0) return new Map<string, RouteResult>();
  return routeEvents(deps, await unroutedEvents(deps, eventIds, eventIds.length));
}

/**
 * Routes the `$contact_changed` events of changes that have committed (engine/contacts/
 * change-event.ts). The change is made whatever happens here: a routing failure is logged, not
 * thrown, and the routing sweep routes the events later.
 */
export async function routeChanges(deps: EngineDeps, eventIds: readonly string[]): Promise<void> {
  try {
    await routeStored(deps, eventIds);
  } catch (error) {
    console.error(
      '[drumbeat] routing a contact change failed; the routing sweep retries it:',
      error,
    );
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Scores and routes a batch's events after the API has answered, one batch at a time per
 * process so a firehose does not starve the database of connections. Scores come first: routing
 * may evaluate score conditions. A failure leaves the events unrouted (they are durable);
 * the routing sweep (`runRoutingSweeper`) routes them once they are stale.
 */
export function routeInBackground(deps: EngineDeps, eventIds: readonly string[]): Promise<void> {
  const next = queue.then(async () => {
    try {
      await settleScores(deps);
      await routeStored(deps, eventIds);
    } catch (error) {
      console.error('[drumbeat] routing a batch failed; the routing sweep retries it:', error);
    }
  });
  queue = next;
  return next;
}

/**
 * Resolves when the batches handed to `routeInBackground` so far are routed, and the routed marks
 * that requests did not wait for are written (for shutdown).
 */
export async function backgroundRoutingIdle(): Promise<void> {
  await queue;
  await marksWritten();
}
