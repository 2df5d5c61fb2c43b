import type { Facts } from '../core/index.js';
import { contactEventSignal } from '../workflows/index.js';
import { isRecord } from './contact-view.js';
import type { EngineDeps } from './deps.js';
import { enroll, type EnrollOutcome } from './enroll.js';
import { loadContactFacts } from './facts.js';
import { hasConditionTriggers, journeysMatchedBy, journeysTriggeredBy } from './journeys.js';
import { RUNNING_STATUSES, signalEnrollment } from './signal.js';

export interface RouteResult {
  readonly enrollments: readonly EnrollOutcome[];
  /** Running enrollments of the contact that were told about the event. */
  readonly signalled: number;
}

/** Contacts routed at once within a batch (each is a few Temporal calls at most). */
const ROUTE_LANES = 8;

/** A stored event, as routing reads it. */
export interface RoutableEvent {
  readonly id: string;
  readonly workspaceId: string;
  readonly type: string;
  readonly name: string | null;
  readonly contactId: string | null;
  readonly properties: unknown;
}

/**
 * Drives everything a batch of stored events causes, each contact's in their order: running
 * enrollments of the contact hear about each event (waits for events, goals, exits,
 * suppression), then the journeys it triggers enroll the contact. Statements are per batch,
 * not per event: one read of the contacts' running enrollments and one write marking the
 * events routed, after all of that, so a crash in between means a re-route, which the event
 * id (deduplicated inside each workflow) and the enrollment ids make harmless.
 */
export async function routeEvents(
  deps: EngineDeps,
  events: readonly RoutableEvent[],
): Promise<Map<string, RouteResult>> {
  const results = new Map<string, RouteResult>();
  if (events.length === 0) return results;
  const byContact = new Map<string, RoutableEvent[]>();
  for (const event of events) {
    if (!event.contactId) results.set(event.id, { enrollments: [], signalled: 0 });
    else byContact.set(event.contactId, [...(byContact.get(event.contactId) ?? []), event]);
  }
  const running = await runningEnrollments(deps, [...byContact.keys()]);
  // Each contact's events in order; different contacts side by side (they share nothing).
  const queue = [...byContact];
  const lane = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [contactId, own] = next;
      for (const event of own)
        results.set(event.id, await routeOne(deps, event, contactId, running));
    }
  };
  await Promise.all(Array.from({ length: Math.min(ROUTE_LANES, queue.length) }, lane));
  await deps.sql.query(`UPDATE events SET routed_at = now() WHERE id = ANY($1::text[])`, [
    events.map((e) => e.id),
  ]);
  return results;
}

async function routeOne(
  deps: EngineDeps,
  event: RoutableEvent,
  contactId: string,
  running: Map<string, string[]>,
): Promise<RouteResult> {
  const properties = propertiesOf(event);
  const name = event.type === 'track' ? (event.name ?? '') : `$${event.type}`;
  const listening = running.get(contactId) ?? [];
  const [told, triggered, watchesConditions] = await Promise.all([
    Promise.all(
      listening.map((id) =>
        signalEnrollment(deps.temporal, id, contactEventSignal, { id: event.id, name, properties }),
      ),
    ),
    event.type === 'track' && event.name
      ? journeysTriggeredBy(deps, event.workspaceId, { name: event.name, properties })
      : Promise.resolve([]),
    hasConditionTriggers(deps, event.workspaceId),
  ]);
  if (triggered.length === 0 && !watchesConditions)
    return { enrollments: [], signalled: told.length };

  // The contact's facts are read once for this event and shared by every entry decision.
  const facts: Facts | null = await loadContactFacts(deps.sql, event.workspaceId, contactId, null);
  const matched =
    facts && watchesConditions ? await journeysMatchedBy(deps, event.workspaceId, facts) : [];
  const enrollments: EnrollOutcome[] = [];
  for (const journey of [
    ...triggered,
    ...matched.filter((m) => !triggered.some((t) => t.journeyId === m.journeyId)),
  ]) {
    const outcome = await enroll(deps, {
      workspaceId: event.workspaceId,
      journeyId: journey.journeyId,
      journeyVersionId: journey.versionId,
      plan: journey.plan,
      contactId,
      trigger: { eventId: event.id, name: event.name ?? name, properties },
      ...(facts ? { facts } : {}),
    });
    enrollments.push(outcome);
    // Later events of the batch reach the new enrollment like any running one.
    if (outcome.enrolled)
      running.set(contactId, [...(running.get(contactId) ?? []), outcome.enrollmentId]);
  }
  return { enrollments, signalled: told.length };
}

async function runningEnrollments(
  deps: EngineDeps,
  contactIds: readonly string[],
): Promise<Map<string, string[]>> {
  const running = new Map<string, string[]>();
  if (contactIds.length === 0) return running;
  const rows = await deps.sql.query<{ id: string; contact_id: string }>(
    `SELECT id, contact_id FROM enrollments
     WHERE contact_id = ANY($1::text[]) AND status = ANY($2::text[])
     ORDER BY started_at, id`,
    [contactIds, RUNNING_STATUSES],
  );
  for (const r of rows) running.set(r.contact_id, [...(running.get(r.contact_id) ?? []), r.id]);
  return running;
}

/** Routes events that were stored but never routed (the process stopped in between). */
export async function routePendingEvents(deps: EngineDeps, batchSize = 100): Promise<number> {
  let routed = 0;
  for (;;) {
    const pending = await unroutedEvents(deps, null, batchSize);
    await routeEvents(deps, pending);
    routed += pending.length;
    if (pending.length < batchSize) return routed;
  }
}

/** Stored events not routed yet, oldest first: the given ones, or any. */
export async function unroutedEvents(
  deps: EngineDeps,
  ids: readonly string[] | null,
  limit: number,
): Promise<RoutableEvent[]> {
  const rows = await deps.sql.query<{
    id: string;
    workspace_id: string;
    type: string;
    name: string | null;
    contact_id: string | null;
    properties: unknown;
  }>(
    `SELECT id, workspace_id, type, name, contact_id, properties FROM events
     WHERE routed_at IS NULL ${ids ? 'AND id = ANY($2::text[])' : ''}
     ORDER BY id LIMIT $1`,
    ids ? [limit, ids] : [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    type: r.type,
    name: r.name,
    contactId: r.contact_id,
    properties: r.properties,
  }));
}

function propertiesOf(event: RoutableEvent): Record<string, unknown> {
  return isRecord(event.properties) ? event.properties : {};
}
