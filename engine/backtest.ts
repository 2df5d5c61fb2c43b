import {
  EMAIL_ACTIVITY_EVENTS,
  simulate,
  type Facts,
  type Plan,
  type SimContact,
  type SimEvent,
  type SimulationResult,
} from '../core/index.js';
import { readMessagingPolicy } from '../mail/index.js';
import { sqlTime } from '../store/index.js';
import { isRecord } from './contact-view.js';
import { notErased } from './contact-record.js';
import type { EngineDeps } from './deps.js';
import { loadContactFacts } from './facts.js';
import { STAGE_CHANGED_EVENT } from './stage-update.js';
import { CONTACT_CHANGED_EVENT } from './contacts/change-event.js';

/**
 * A backtest: a journey (published or not) run by the simulator over what the workspace's
 * contacts really did in a past window, so a marketer sees who would have entered, what they
 * would have been sent and who met the goal, before the journey goes live.
 *
 * What is replayed: the stored `track` events of the window in time order (a webhook call's
 * events with their source; email activity without the step it answered, since it answered
 * other journeys' emails), `identify` calls as attribute updates at their time, and stage
 * changes as lifecycle updates. The contacts that have events in the window take part (erased
 * ones do not), as they were when the window opened where the store tells it: attributes that
 * identify calls changed since then take the value the calls before it gave (none if none did),
 * and the stage the first stage change since then moved from; tags and lists from their change
 * log, whose changes in the window are replayed too; scores are today's. An email to a
 * contact with no address fails, as it would live; one to an address suppressed for its
 * category by then (unsubscribed, bounced, complained) is held back and the step moves on.
 */
export interface BacktestRequest {
  readonly workspaceId: string;
  readonly plan: Plan;
  readonly from: number;
  readonly to: number;
  /** Contacts taken part at most (those with the earliest events first). */
  readonly maxContacts: number;
  /** Events replayed at most. */
  readonly maxEvents: number;
}

export interface Backtest {
  readonly result: SimulationResult;
  readonly replayed: {
    readonly events: number;
    readonly contacts: number;
    /** More events or contacts were in the window than were replayed. */
    readonly truncated: boolean;
  };
  /** Where the simulation stopped: `to`, or the last replayed event's time when events were cut. */
  readonly end: number;
  /** Actions that failed as they would live (an email to a contact with no address), by reason. */
  readonly failures: readonly { readonly stepId: string; readonly reason: string }[];
  /** Emails not sent, as live, because the address was suppressed for their category by then. */
  readonly suppressed: readonly { readonly stepId: string }[];
  /** The user id of each contact that took part, by contact id. */
  readonly userIds: ReadonlyMap<string, string | null>;
}

interface StoredEvent {
  contact_id: string;
  type: string;
  name: string | null;
  properties: unknown;
  at_ms: number;
}

/** Contacts whose facts are read at once. */
const READ_LANES = 8;

export async function backtestJourney(
  deps: Pick<EngineDeps, 'sql'>,
  request: BacktestRequest,
): Promise<Backtest> {
  const window = [request.workspaceId, sqlTime(request.from), sqlTime(request.to)];
  // The contacts first (those whose first event is earliest), so a small `maxContacts` reads
  // only their events.
  const taking = await deps.sql.query<{ contact_id: string; user_id: string | null }>(
    `SELECT e.contact_id, min(c.user_id) AS user_id FROM events e JOIN contacts c ON c.id = e.contact_id
     WHERE e.workspace_id = $1 AND e.timestamp >= $2::timestamp(3) AND e.timestamp < $3::timestamp(3)
       AND ${notErased('c.')}
     GROUP BY e.contact_id ORDER BY min(e.timestamp), e.contact_id
     LIMIT $4`,
    [...window, request.maxContacts + 1],
  );
  const userIds = new Map(
    taking.slice(0, request.maxContacts).map((r) => [r.contact_id, r.user_id] as const),
  );
  const rows = await deps.sql.query<StoredEvent>(
    `SELECT e.contact_id, e.type, e.name, e.properties,
            (extract(epoch FROM e.timestamp) * 1000)::float8 AS at_ms
     FROM events e
     WHERE e.workspace_id = $1 AND e.timestamp >= $2::timestamp(3) AND e.timestamp < $3::timestamp(3)
       AND e.contact_id = ANY($4::text[])
     ORDER BY e.timestamp, e.id
     LIMIT $5`,
    [...window, [...userIds.keys()], request.maxEvents + 1],
  );
  const cut = rows.length > request.maxEvents;
  const truncated = cut || taking.length > request.maxContacts;
  const events = rows.slice(0, request.maxEvents);
  // Events cut: the contacts replayed have no events after the last one read, so the window
  // ends there rather than show them idle until `to`.
  const end = cut ? (rows[request.maxEvents - 1]?.at_ms ?? request.from) + 1 : request.to;
  const memberships = await membershipChanges(deps, request, [...userIds.keys()], end);
  const contacts = await simContacts(deps, request, [...userIds.keys()], memberships.atStart);
  const present = new Set(contacts.map((c) => c.id));
  const replayedEvents = events.flatMap((e) => (present.has(e.contact_id) ? timelineEvent(e) : []));
  // Stable: at one time, an event comes before a tag or list change.
  const timeline = [
    ...replayedEvents,
    ...memberships.updates.filter((u) => present.has(u.contactId)),
  ].sort((a, b) => a.at - b.at);
  const reachable = reachableContacts(contacts, timeline, request.from);
  const suppressedAt = await suppressionsOf(deps, request.workspaceId, [...present]);
  const { transactional } = await readMessagingPolicy(deps.sql, request.workspaceId);
  const failures: { stepId: string; reason: string }[] = [];
  const suppressed: { stepId: string }[] = [];
  const result = simulate({
    // Schedule triggers are not replayed (the answer says so): a one-off's `at` in the window
    // would enroll only the contacts that happened to have events, not its audience.
    plan: { ...request.plan, triggers: request.plan.triggers.filter((t) => t.type !== 'schedule') },
    contacts,
    timeline,
    start: request.from,
    end,
    failAction: (stepId, contactId, at) => {
      const step = request.plan.steps[stepId];
      if (step?.type !== 'action' || step.action.type !== 'sendEmail') return null;
      if ((reachable.get(contactId) ?? Infinity) <= at) return null;
      failures.push({ stepId, reason: 'CONTACT_HAS_NO_EMAIL' });
      return 'The contact has no email address.';
    },
    suppressEmail: (stepId, contactId, at) => {
      const step = request.plan.steps[stepId];
      if (step?.type !== 'action' || step.action.type !== 'sendEmail') return false;
      const category = step.action.category ?? 'marketing';
      if (transactional.includes(category)) return false;
      const held = (suppressedAt.get(contactId) ?? []).some(
        (s) => (s.scope === '*' || s.scope === category) && s.since <= at,
      );
      if (held) suppressed.push({ stepId });
      return held;
    },
  });
  return {
    result,
    replayed: { events: replayedEvents.length, contacts: contacts.length, truncated },
    end,
    failures,
    suppressed,
    userIds,
  };
}

/**
 * The suppressions of the contacts' addresses today, with when each began. One lifted since
 * (a re-subscribe deletes it) is not known, so the backtest sends what it held back.
 */
async function suppressionsOf(
  deps: Pick<EngineDeps, 'sql'>,
  workspaceId: string,
  contactIds: readonly string[],
): Promise<Map<string, { scope: string; since: number }[]>> {
  const rows = await deps.sql.query<{ contact_id: string; scope: string; since: number }>(
    `SELECT c.id AS contact_id, s.scope, (extract(epoch FROM s.created_at) * 1000)::float8 AS since
     FROM contacts c JOIN suppressions s ON s.workspace_id = c.workspace_id AND s.email_key = c.email_key
     WHERE c.workspace_id = $1 AND c.id = ANY($2::text[])`,
    [workspaceId, contactIds],
  );
  const byContact = new Map<string, { scope: string; since: number }[]>();
  for (const r of rows) {
    const held = byContact.get(r.contact_id) ?? [];
    held.push({ scope: r.scope, since: r.since });
    byContact.set(r.contact_id, held);
  }
  return byContact;
}

/**
 * From when each contact has an email address: the window's start if it had one then, else
 * the first replayed identify call that gave one. A send before that fails, as it would live.
 */
function reachableContacts(
  contacts: readonly SimContact[],
  timeline: readonly SimEvent[],
  start: number,
): Map<string, number> {
  const reachable = new Map<string, number>();
  for (const c of contacts) if (hasEmail(c.attributes)) reachable.set(c.id, start);
  for (const e of timeline)
    if (hasEmail(e.update?.attributes))
      reachable.set(e.contactId, Math.min(reachable.get(e.contactId) ?? Infinity, e.at));
  return reachable;
}

function hasEmail(attributes: Readonly<Record<string, unknown>> | undefined): boolean {
  const email = attributes?.email;
  return typeof email === 'string' && email.trim() !== '';
}

/** The contacts as they were when the window opened, where the store tells it. */
async function simContacts(
  deps: Pick<EngineDeps, 'sql'>,
  request: BacktestRequest,
  ids: readonly string[],
  membershipsAtStart: ReadonlyMap<string, Membership>,
): Promise<SimContact[]> {
  const { workspaceId, from } = request;
  const [before, stages] = await Promise.all([
    attributesAtStart(deps, workspaceId, ids, from),
    stagesAtStart(deps, workspaceId, ids, from),
  ]);
  const contacts: SimContact[] = [];
  const queue = [...ids];
  const lane = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const facts = await loadContactFacts(deps.sql, workspaceId, id, null);
      if (facts)
        contacts.push({
          ...simContact(id, facts, before.get(id), stages),
          ...membershipsAtStart.get(id),
        });
    }
  };
  await Promise.all(Array.from({ length: READ_LANES }, lane));
  // In the order of their first event, whatever order the reads finished in.
  const order = new Map(ids.map((id, i) => [id, i]));
  return contacts.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

type Membership = { tags?: readonly string[]; lists?: readonly string[] };

/**
 * Tags and lists from their change log (`attribute_changes`): each contact's as they were when
 * the window opened (the value before the first change since), and the window's changes as
 * contact updates at their time, which condition triggers and waits see.
 */
async function membershipChanges(
  deps: Pick<EngineDeps, 'sql'>,
  request: BacktestRequest,
  ids: readonly string[],
  end: number,
): Promise<{ atStart: Map<string, Membership>; updates: SimEvent[] }> {
  const rows = await deps.sql.query<{
    contact_id: string;
    attribute: 'tags' | 'lists';
    before: unknown;
    after: unknown;
    at_ms: number;
  }>(
    `SELECT contact_id, attribute, before, after, (extract(epoch FROM at) * 1000)::float8 AS at_ms
     FROM attribute_changes
     WHERE workspace_id = $1 AND contact_id = ANY($2::text[]) AND attribute IN ('tags', 'lists')
       AND at >= $3::timestamp(3)
     ORDER BY contact_id, at, id`,
    [request.workspaceId, ids, sqlTime(request.from)],
  );
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  const atStart = new Map<string, Membership>();
  const updates: SimEvent[] = [];
  for (const row of rows) {
    const known = atStart.get(row.contact_id) ?? {};
    if (known[row.attribute] === undefined)
      atStart.set(row.contact_id, { ...known, [row.attribute]: strings(row.before) });
    if (row.at_ms < end)
      updates.push({
        at: row.at_ms,
        contactId: row.contact_id,
        // Told to journeys as any update is, as live routes it when it commits (its
        // `$contact_changed` event is left out of the replay below, so it is not told twice).
        update: { [row.attribute]: strings(row.after) },
      });
  }
  return { atStart, updates };
}

/**
 * For each contact, the attributes identify calls changed at or after `from`, with the value
 * the calls before `from` left them (undefined: no call had set them then).
 */
async function attributesAtStart(
  deps: Pick<EngineDeps, 'sql'>,
  workspaceId: string,
  ids: readonly string[],
  from: number,
): Promise<Map<string, Map<string, unknown>>> {
  const rows = await deps.sql.query<{ contact_id: string; properties: unknown; since: boolean }>(
    `SELECT contact_id, properties, timestamp >= $3::timestamp(3) AS since FROM events
     WHERE workspace_id = $1 AND contact_id = ANY($2::text[]) AND type = 'identify'
     ORDER BY contact_id, timestamp, id`,
    [workspaceId, ids, sqlTime(from)],
  );
  const known = new Map<string, Map<string, unknown>>();
  const changed = new Map<string, Set<string>>();
  for (const row of rows) {
    if (!isRecord(row.properties)) continue;
    const into = row.since ? changed : null;
    if (into) {
      const keys = into.get(row.contact_id) ?? new Set<string>();
      for (const key of Object.keys(row.properties)) keys.add(key);
      into.set(row.contact_id, keys);
    } else {
      const values = known.get(row.contact_id) ?? new Map<string, unknown>();
      for (const [key, value] of Object.entries(row.properties)) values.set(key, value);
      known.set(row.contact_id, values);
    }
  }
  const before = new Map<string, Map<string, unknown>>();
  for (const [contactId, keys] of changed) {
    const values = known.get(contactId);
    before.set(contactId, new Map([...keys].map((key) => [key, values?.get(key)])));
  }
  return before;
}

/** The stage each contact had when the window opened, for those whose stage moved since. */
async function stagesAtStart(
  deps: Pick<EngineDeps, 'sql'>,
  workspaceId: string,
  ids: readonly string[],
  from: number,
): Promise<Map<string, string | null>> {
  const rows = await deps.sql.query<{ contact_id: string; properties: unknown }>(
    `SELECT DISTINCT ON (contact_id) contact_id, properties FROM events
     WHERE workspace_id = $1 AND contact_id = ANY($2::text[]) AND name = $3
       AND timestamp >= $4::timestamp(3)
     ORDER BY contact_id, timestamp, id`,
    [workspaceId, ids, STAGE_CHANGED_EVENT, sqlTime(from)],
  );
  return new Map(
    rows.map((r) => {
      const stage = isRecord(r.properties) ? r.properties.from : undefined;
      return [r.contact_id, typeof stage === 'string' ? stage : null];
    }),
  );
}

function simContact(
  id: string,
  facts: Facts,
  before: ReadonlyMap<string, unknown> | undefined,
  stages: ReadonlyMap<string, string | null>,
): SimContact {
  const attributes: Record<string, unknown> = { ...facts.contact };
  for (const [key, value] of before ?? []) {
    if (value === undefined || value === null) delete attributes[key];
    else attributes[key] = value;
  }
  const timezone = attributes.timezone;
  const stage = stages.has(id) ? stages.get(id) : facts.lifecycleStage;
  return {
    id,
    attributes,
    ...(typeof timezone === 'string' ? { timezone } : {}),
    scores: facts.scores ?? {},
    ...(typeof stage === 'string' ? { lifecycleStage: stage } : {}),
    tags: facts.tags ?? [],
    lists: facts.lists ?? [],
  };
}

function timelineEvent(e: StoredEvent): SimEvent[] {
  const properties = isRecord(e.properties) ? e.properties : {};
  if (e.type === 'identify')
    return [{ at: e.at_ms, contactId: e.contact_id, update: { attributes: properties } }];
  if (e.type !== 'track' || !e.name) return [];
  // A tag or list change's announcement: the change itself is replayed from its log, routed.
  if (e.name === CONTACT_CHANGED_EVENT) return [];
  if (e.name in EMAIL_ACTIVITY_EVENTS) {
    // It answered an email of another journey: its step would count for this one's.
    const { step: _step, ...rest } = properties;
    return [{ at: e.at_ms, contactId: e.contact_id, name: e.name, properties: rest }];
  }
  if (e.name === STAGE_CHANGED_EVENT) {
    const to = properties.to;
    return [
      {
        at: e.at_ms,
        contactId: e.contact_id,
        name: e.name,
        properties,
        ...(typeof to === 'string' ? { update: { lifecycleStage: to } } : {}),
      },
    ];
  }
  return [{ at: e.at_ms, contactId: e.contact_id, name: e.name, properties }];
}
