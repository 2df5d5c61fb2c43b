import type { Facts } from '../core/index.js';
import { contactEventSignal } from '../workflows/index.js';
import { contactSnapshots, type ContactSnapshot } from './contact-record.js';
import { isRecord } from './contact-view.js';
import { changedBy } from './contacts/change-event.js';
import type { EngineDeps } from './deps.js';
import { enroll, type EnrollOutcome } from './enroll.js';
import { loadContactFacts } from './facts.js';
import { markRouted, markRoutedLater } from './mark-routed.js';
import { journeysStartedToMatch } from './condition-matches.js';
import { hasConditionTriggers, journeysTriggeredBy } from './journeys.js';
import { sqlTime } from '../store/index.js';
import { repeatUntilStopped } from './repeat.js';
import { settleScores } from './scorer.js';
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
 * not per event: one read of the contacts (records and enrollments, `contactSnapshots`) and one
 * write marking the events routed, after all of that (engine/mark-routed.ts), so a crash in
 * between means a re-route, which the event id (deduplicated inside each workflow) and the
 * enrollment ids make harmless.
 */
export async function routeEvents(
  deps: EngineDeps,
  events: readonly RoutableEvent[],
  /**
   * `later`: return without waiting for the mark (a request answering its caller); otherwise
   * the events are marked when this resolves (`routePendingEvents` reads what is left).
   */
  mark: 'now' | 'later' = 'now',
  /** Contact snapshots the caller read already (see `acceptTracks`); the rest are read here. */
  known: ReadonlyMap<string, ContactSnapshot> = new Map(),
): Promise<Map<string, RouteResult>> {
  const results = new Map<string, RouteResult>();
  if (events.length === 0) return results;
  const byContact = new Map<string, RoutableEvent[]>();
  for (const event of events) {
    if (!event.contactId) results.set(event.id, { enrollments: [], signalled: 0 });
    else byContact.set(event.contactId, [...(byContact.get(event.contactId) ?? []), event]);
  }
  // One statement for the batch's contacts: records and enrollments (the running ones hear each
  // event; a journey's own are its entry history). Read while the first contacts' journeys are
  // looked up (see routeOne).
  const unread = [...byContact.keys()].filter((id) => !known.has(id));
  const snapshots = contactSnapshots(deps.sql, unread).then((read) =>
    known.size === 0 ? read : new Map([...known, ...read]),
  );
  const running = snapshots.then(runningOf);
  // Each contact's events in order; different contacts side by side (they share nothing).
  const queue = [...byContact];
  const lane = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [contactId, own] = next;
      // The snapshot serves the contact's first event; later ones of the batch read afresh
      // what the earlier ones may have changed (traits, enrollments).
      for (const [i, event] of own.entries())
        results.set(
          event.id,
          await routeOne(deps, event, contactId, running, i === 0 ? snapshots : null),
        );
    }
  };
  await Promise.all([
    running,
    ...Array.from({ length: Math.min(ROUTE_LANES, queue.length) }, lane),
  ]);
  const ids = events.map((e) => e.id);
  if (mark === 'later') markRoutedLater(deps.sql, ids);
  else await markRouted(deps.sql, ids);
  return results;
}

async function routeOne(
  deps: EngineDeps,
  event: RoutableEvent,
  contactId: string,
  /** The running enrollments of the batch's contacts; this routing adds the ones it starts. */
  runningRead: Promise<Map<string, RunningEnrollment[]>>,
  /** The batch's first read, when this is the contact's first event in it. */
  snapshotRead: Promise<Map<string, ContactSnapshot>> | null,
): Promise<RouteResult> {
  const properties = propertiesOf(event);
  const name = event.type === 'track' ? (event.name ?? '') : `$${event.type}`;
  // From the process's journey cache: no round trip as a rule.
  const [triggered, watchesConditions] = await Promise.all([
    event.type === 'track' && event.name
      ? journeysTriggeredBy(deps, event.workspaceId, { name: event.name, properties })
      : Promise.resolve([]),
    hasConditionTriggers(deps, event.workspaceId),
  ]);
  // The contact's facts are read once for this event and shared by every entry decision. For
  // the contact's first event of the batch they come from the snapshot (no statement unless a
  // scoring model is active), as do its earlier enrollments in each journey; for a later one
  // they load while the running enrollments are told, and each entry decision reads the
  // contact's earlier enrollments meanwhile.
  const entering = triggered.length > 0 || watchesConditions;
  const snapshot = snapshotRead ? (await snapshotRead).get(contactId) : undefined;
  const loading = entering
    ? loadContactFacts(deps.sql, event.workspaceId, contactId, null, snapshot?.record)
    : null;
  // Awaited below; this keeps a failure from going unhandled while the signals are sent.
  loading?.catch(() => undefined);
  const running = await runningRead;
  // Not the enrollments this event started: routed again (its routed mark failed, a sweep
  // overlapped), it would reach them as news, and a goal or a wait on the trigger's own name
  // would be met by the event that began them.
  // Nor the enrollment whose step made a contact change: it goes on from that step anyway.
  const madeBy = changedBy(event.name, event.properties);
  const told = await Promise.all(
    (running.get(contactId) ?? [])
      .filter((e) => e.triggerEventId !== event.id && e.id !== madeBy)
      .map((e) =>
        signalEnrollment(deps.temporal, e.id, contactEventSignal, {
          id: event.id,
          name,
          properties,
        }),
      ),
  );
  if (!loading) return { enrollments: [], signalled: told.length };

  const facts: Facts | null = watchesConditions ? await loading : null;
  const matched = facts
    ? await journeysStartedToMatch(deps, event.workspaceId, contactId, event.id, facts)
    : [];
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
      facts: loading,
      ...(snapshot
        ? { past: snapshot.enrollments.filter((e) => e.journeyId === journey.journeyId) }
        : {}),
    });
    enrollments.push(outcome);
    // Later events of the batch reach the new enrollment like any running one.
    if (outcome.enrolled)
      running.set(contactId, [
        ...(running.get(contactId) ?? []),
        { id: outcome.enrollmentId, triggerEventId: event.id },
      ]);
  }
  return { enrollments, signalled: told.length };
}

interface RunningEnrollment {
  readonly id: string;
  readonly triggerEventId: string | null;
}

/** The running enrollments of each contact, oldest first. */
function runningOf(snapshots: Map<string, ContactSnapshot>): Map<string, RunningEnrollment[]> {
  const running = new Map<string, RunningEnrollment[]>();
  const statuses: readonly string[] = RUNNING_STATUSES;
  for (const [contactId, { enrollments }] of snapshots) {
    const found = enrollments
      .filter((e) => statuses.includes(e.status))
      .map((e) => ({ id: e.id, triggerEventId: e.triggerEventId ?? null }));
    if (found.length > 0) running.set(contactId, found);
  }
  return running;
}

/** Batches failing one after another that end a sweep. */
const MAX_FAILED_BATCHES = 3;

/**
 * Routes events that were stored but never routed: their process stopped in between, or its
 * routed mark failed. `staleMs` leaves alone events received less than that long ago, which
 * another live process may be routing right now (0: all of them, for a database that only
 * this process uses). A batch that fails is logged and passed over (the next sweep tries it
 * again), so one event that cannot be routed holds up no other. Stops between batches once
 * `stopping` says so.
 */
export async function routePendingEvents(
  deps: EngineDeps,
  staleMs = 0,
  options: { readonly batchSize?: number; readonly stopping?: () => boolean } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 100;
  await settleScores(deps); // events a crash left unscored are scored before they are routed
  // One cutoff for the whole sweep, on this process's clock, which wrote `received_at` too.
  const cutoff = Date.now() - staleMs;
  let routed = 0;
  let after = '';
  let failedInARow = 0;
  while (!options.stopping?.()) {
    const pending = await unroutedEvents(deps, null, batchSize, { cutoff, after });
    try {
      await routeEvents(deps, pending);
      routed += pending.length;
      failedInARow = 0;
    } catch (error) {
      console.error('[drumbeat] routing pending events failed; the next sweep tries again:', error);
      // Several batches in a row: Temporal or the database is down, not one event wrong.
      if (++failedInARow >= MAX_FAILED_BATCHES) break;
    }
    if (pending.length < batchSize) break;
    after = pending[pending.length - 1]?.id ?? after;
  }
  return routed;
}

/**
 * Routes what no process routed, from any process, without waiting for a restart: at once on
 * start (every pending event when `firstStaleMs` is 0, on a database only this process
 * uses), then every `everyMs` the events unrouted for `staleMs` after they were received.
 * Several processes may route the same stale event; routing twice is harmless (each workflow
 * deduplicates event ids, enrollment ids are deterministic). Returns the stopper, which lets
 * the batch in hand finish and starts no other.
 */
export function runRoutingSweeper(
  deps: EngineDeps,
  options: { readonly staleMs: number; readonly firstStaleMs: number; readonly everyMs: number },
): () => Promise<void> {
  return repeatUntilStopped(
    options.everyMs,
    'routing pending events failed',
    async ({ first, stopping }) => {
      const staleMs = first ? options.firstStaleMs : options.staleMs;
      const routed = await routePendingEvents(deps, staleMs, { stopping });
      if (routed > 0) console.info(`[drumbeat] routed ${routed} events no process had routed`);
    },
  );
}

/** Stored events not routed yet, oldest first: the given ones, or any. */
export async function unroutedEvents(
  deps: EngineDeps,
  ids: readonly string[] | null,
  limit: number,
  /**
   * Without ids: only events received by `cutoff` (epoch ms; `received_at` holds UTC), with
   * ids after `after`.
   */
  page: { readonly cutoff?: number; readonly after?: string } = {},
): Promise<RoutableEvent[]> {
  const rows = await deps.sql.query<{
    id: string;
    workspace_id: string;
    type: string;
    name: string | null;
    contact_id: string | null;
    properties: unknown;
  }>(
    ids
      ? // By id first: joined with the index of unrouted events, the plan read its every entry,
        // the dead ones of events routed since the last vacuum included.
        `WITH e AS MATERIALIZED (
           SELECT id, workspace_id, type, name, contact_id, properties, routed_at FROM events
           WHERE id = ANY($2::text[])
         )
         SELECT id, workspace_id, type, name, contact_id, properties FROM e
         WHERE routed_at IS NULL ORDER BY id LIMIT $1`
      : `SELECT id, workspace_id, type, name, contact_id, properties FROM events
         WHERE routed_at IS NULL AND received_at <= $2::timestamp(3) AND id > $3
         ORDER BY id LIMIT $1`,
    ids ? [limit, ids] : [limit, sqlTime(page.cutoff ?? Date.now()), page.after ?? ''],
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
