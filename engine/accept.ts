import { newId, sqlTime, type Sql } from '../store/index.js';
import { applyIdentify, type IdentifyWarning } from './apply-identify.js';
import type { ContactSnapshot } from './contact-record.js';
import type { EngineDeps } from './deps.js';
import type { IncomingMessage } from './ingest.js';
import { resolveContacts } from './resolve-contacts.js';
import { journeyInterest, webhookSourceOf, type JourneyInterest } from './journeys.js';
import { acceptTracks, firstStored, isPlainTrack } from './accept-tracks.js';
import { routedContactsCtes } from './route-need.js';
import { scoreNewEvents, type NewEvent } from './score-events.js';
import { recordStages } from './scorer.js';
import { activeScoringPlans, type ActiveScoringPlan } from './scoring-plans.js';
import { matchingRules } from '../scoring/index.js';

export interface AcceptedMessage {
  readonly eventId: string;
  readonly contactId: string | null;
  /** False when the `messageId` was seen before: nothing was stored or scored again. */
  readonly stored: boolean;
  readonly warning: IdentifyWarning | null;
}

export interface AcceptResult {
  readonly messages: readonly AcceptedMessage[];
  /** Events stored by this call (including stage changes it caused) that need routing. */
  readonly newEventIds: readonly string[];
  /** Contacts of events that need routing, as routing reads them, when asked for and known. */
  readonly snapshots?: ReadonlyMap<string, ContactSnapshot>;
}

/**
 * When scores are written: `now`, in the transaction that stores the events (single messages,
 * whose caller reads the score next); `later`, by the background scorer in large groups (bulk
 * ingestion; see engine/scorer.ts, and `settleScores` for readers that must see them).
 */
export type Scoring = 'now' | 'later';

/**
 * Stores valid messages durably: contacts are resolved first, then every event is inserted in
 * one statement deduplicated on `messageId`. With `scoring: 'now'` the rows that statement
 * actually inserted are scored in the same transaction; with `later` they are marked for the
 * background scorer, and the insert commits on its own. Routing them (journeys) is the
 * caller's next step, and `routePendingEvents` finishes it after a crash.
 *
 * Messages that change no score (no active model has a rule for them) take neither: no
 * transaction, no mark. Plain tracks then go in a single statement that also finds or makes
 * their contacts (engine/accept-tracks.ts): one round trip where there were four.
 */
export async function acceptMessages(
  deps: Pick<EngineDeps, 'prisma' | 'sql'>,
  workspaceId: string,
  messages: readonly IncomingMessage[],
  receivedAt = new Date(),
  scoring: Scoring = 'now',
  /** Routing follows at once: read its contact snapshots on the way where that is free. */
  withSnapshots = false,
): Promise<AcceptResult> {
  const active = await activeScoringPlans(deps.sql, workspaceId);
  const mode: Mode = scoring === 'later' ? 'later' : scores(active, messages) ? 'now' : 'none';
  // Events of inbound webhook sources take the general path, which routes them by their source.
  if (
    mode !== 'now' &&
    messages.every((m) => isPlainTrack(m) && webhookSourceOf(m.properties) === null)
  )
    return acceptTracks(
      deps,
      workspaceId,
      messages,
      receivedAt,
      mode === 'later',
      (rest) => resolveAndAccept(deps, workspaceId, rest, receivedAt, mode, active),
      withSnapshots,
    );
  return resolveAndAccept(deps, workspaceId, messages, receivedAt, mode, active);
}

/** `none`: nothing in the messages changes a score, so they are neither scored nor marked. */
type Mode = Scoring | 'none';

/**
 * Whether storing these messages changes a score: a track that a rule of an active model
 * matches (the same `matchingRules` the scoring uses), or an identify while a model is active
 * (fit and stage read the traits).
 */
function scores(active: readonly ActiveScoringPlan[], messages: readonly IncomingMessage[]) {
  return (
    active.length > 0 &&
    messages.some(
      (m) =>
        m.type !== 'track' ||
        (!!m.event &&
          active.some(
            (model) =>
              matchingRules(model.plan, {
                name: m.event ?? '',
                properties: m.properties,
                atMs: m.timestamp.getTime(),
              }).length > 0,
          )),
    )
  );
}

/** The general path: contacts resolved first (identify, anonymous ids, promotions), then stored. */
async function resolveAndAccept(
  { prisma, sql }: Pick<EngineDeps, 'prisma' | 'sql'>,
  workspaceId: string,
  messages: readonly IncomingMessage[],
  receivedAt: Date,
  mode: Mode,
  active: readonly ActiveScoringPlan[],
): Promise<AcceptResult> {
  const resolved = await resolveContacts(sql, workspaceId, messages);
  const interest = await journeyInterest({ prisma }, workspaceId);
  // An identify may merge contacts that other messages of the batch were resolved to (an
  // anonymous track before it): those follow to the contact that stays, or they would be
  // applied to, and stored under, a contact that no longer exists.
  const mergedInto = new Map<string, string>();
  const contactOf = (i: number) => survivor(mergedInto, resolved[i] ?? null);
  const warnings = new Map<number, IdentifyWarning>();
  // Stage moves the traits made, stored with the contact's write (apply-identify.ts).
  const stageEvents: string[] = [];
  for (const [i, m] of messages.entries()) {
    const contactId = contactOf(i);
    if (m.type !== 'identify' || !contactId) continue;
    const { warning, merged, stageEventIds } = await applyIdentify(
      { prisma, sql },
      active,
      workspaceId,
      contactId,
      m,
      interest,
    );
    if (warning) warnings.set(i, warning);
    stageEvents.push(...stageEventIds);
    for (const { from, into } of merged) mergedInto.set(from, into);
  }
  const rows = messages.map((m, i) => ({
    // An identify whose contact was erased meanwhile keeps no traits in its stored event either.
    m: warnings.get(i) === 'contact-erased' ? { ...m, traits: {} } : m,
    id: newId(),
    contactId: contactOf(i),
  }));
  // Inserted in messageId order so two batches sharing messages lock them in the same order.
  const ordered = [...rows].sort((a, b) => (a.m.messageId < b.m.messageId ? -1 : 1));

  const later = mode === 'later';
  const inTransaction = <T>(work: (tx: Sql) => Promise<T>) =>
    mode === 'now' ? sql.transaction(work) : work(sql);
  return inTransaction(async (tx) => {
    // Routing is decided in the same statement (see engine/route-need.ts).
    const inserted = await tx.query<{ id: string; route: boolean }>(
      `WITH x AS (
         SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamp(3)[], $12::bool[])
           WITH ORDINALITY AS x(i, mid, t, n, c, u, a, p, ts, s, o)
       ),
       ${routedContactsCtes('x', { conditions: '$13::bool', events: '$14::text[]' })}
       INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, anonymous_id, properties, timestamp, received_at, routed_at, score_xid)
       SELECT i, $1, mid, t, n, c, u, a, p::jsonb, ts, $11::timestamp(3),
         CASE WHEN c IN (SELECT c FROM routed) THEN NULL ELSE $11::timestamp(3) END,
         CASE WHEN s THEN pg_current_xact_id() END
       FROM x
       ORDER BY o
       ON CONFLICT (workspace_id, message_id) DO NOTHING
       RETURNING id, routed_at IS NULL AS route`,
      [
        workspaceId,
        ordered.map((r) => r.id),
        ordered.map((r) => r.m.messageId),
        ordered.map((r) => r.m.type),
        ordered.map((r) => r.m.event),
        ordered.map((r) => r.contactId),
        ordered.map((r) => r.m.userId),
        ordered.map((r) => r.m.anonymousId),
        ordered.map((r) => JSON.stringify(r.m.type === 'identify' ? r.m.traits : r.m.properties)),
        ordered.map((r) => sqlTime(r.m.timestamp.getTime())),
        sqlTime(receivedAt.getTime()),
        ordered.map((r) => later && scorable(r.m, r.contactId)),
        interest.conditions,
        routedNames(interest, messages),
      ],
    );
    const toRoute = new Set(inserted.filter((r) => r.route).map((r) => r.id));
    const fresh = new Set(inserted.map((r) => r.id));

    // Duplicates answer with the event stored the first time.
    const seen = await firstStored(
      tx,
      workspaceId,
      rows.filter((r) => !fresh.has(r.id)).map((r) => r.m.messageId),
    );

    // Scored now, in this transaction; with `later`, the scorer takes them from the cursor.
    if (mode === 'now') {
      const scored: NewEvent[] = rows.flatMap((r) =>
        fresh.has(r.id) && r.m.type === 'track' && r.m.event && r.contactId
          ? [
              {
                id: r.id,
                contactId: r.contactId,
                name: r.m.event,
                properties: r.m.properties,
                atMs: r.m.timestamp.getTime(),
                receivedMs: receivedAt.getTime(),
              },
            ]
          : [],
      );
      const identified = rows.flatMap((r) =>
        r.m.type === 'identify' && fresh.has(r.id) && r.contactId ? [r.contactId] : [],
      );
      stageEvents.push(
        ...(await recordStages(
          tx,
          workspaceId,
          active,
          await scoreNewEvents(tx, active, scored),
          identified,
          interest,
        )),
      );
    }

    return {
      messages: rows.map((r, i) => {
        const first = seen.get(r.m.messageId);
        return {
          eventId: fresh.has(r.id) ? r.id : (first?.id ?? r.id),
          contactId: fresh.has(r.id) ? r.contactId : (first?.contactId ?? r.contactId),
          stored: fresh.has(r.id),
          warning: warnings.get(i) ?? null,
        };
      }),
      newEventIds: [
        ...rows.filter((r) => fresh.has(r.id) && toRoute.has(r.id)).map((r) => r.id),
        ...stageEvents,
      ],
    };
  });
}

/**
 * The event names whose events the insert marks for routing: those that trigger journeys, and
 * the names of this batch's events from webhook sources that trigger journeys (their names are
 * any the source's mapping gives; others of the batch with the same name are routed too, which
 * only costs a look).
 */
function routedNames(interest: JourneyInterest, messages: readonly IncomingMessage[]): string[] {
  const names = [...interest.events];
  if (interest.webhookSources.size === 0) return names;
  for (const m of messages) {
    const source = m.type === 'track' && m.event ? webhookSourceOf(m.properties) : null;
    if (m.event && source !== null && interest.webhookSources.has(source)) names.push(m.event);
  }
  return names;
}

/** The contact that `contactId` ended in after the merges so far (each `into` was alive then). */
function survivor(mergedInto: ReadonlyMap<string, string>, contactId: string | null) {
  let id = contactId;
  for (let next = id && mergedInto.get(id); next; next = mergedInto.get(next)) id = next;
  return id;
}

/** Events the scorer has work for: a named track event or an identify, of a known contact. */
function scorable(m: IncomingMessage, contactId: string | null): boolean {
  return contactId !== null && (m.type === 'identify' || (m.type === 'track' && !!m.event));
}
