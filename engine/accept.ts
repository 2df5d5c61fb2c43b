import { newId, sqlTime } from '../store/index.js';
import { applyIdentify, type IdentifyWarning } from './apply-identify.js';
import type { EngineDeps } from './deps.js';
import type { IncomingMessage } from './ingest.js';
import { resolveContacts } from './resolve-contacts.js';
import { journeyInterest } from './journeys.js';
import { routingNeed, spreadByContact } from './route-need.js';
import { scoreNewEvents, type NewEvent } from './score-events.js';
import { activeScoringPlans } from './scoring-plans.js';
import { STAGE_CHANGED_EVENT, updateStages } from './stage-update.js';

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
}

/**
 * Stores valid messages durably and scores them in one transaction per call: contacts are
 * resolved first, then every event is inserted in one statement deduplicated on `messageId`,
 * and only the rows that statement actually inserted are scored. When this returns, the events
 * and their scores are committed; routing them (journeys) is the caller's next step, and
 * `routePendingEvents` finishes it after a crash.
 */
export async function acceptMessages(
  { prisma, sql }: Pick<EngineDeps, 'prisma' | 'sql'>,
  workspaceId: string,
  messages: readonly IncomingMessage[],
  receivedAt = new Date(),
): Promise<AcceptResult> {
  const active = await activeScoringPlans(sql, workspaceId);
  const contactIds = await resolveContacts(sql, workspaceId, messages);
  const warnings = new Map<number, IdentifyWarning>();
  for (const [i, m] of messages.entries()) {
    const contactId = contactIds[i];
    if (m.type !== 'identify' || !contactId) continue;
    const warning = await applyIdentify(prisma, active, workspaceId, contactId, m);
    if (warning) warnings.set(i, warning);
  }
  const rows = messages.map((m, i) => ({ m, id: newId(), contactId: contactIds[i] ?? null }));
  // Inserted in messageId order so two batches sharing messages lock them in the same order.
  const ordered = [...rows].sort((a, b) => (a.m.messageId < b.m.messageId ? -1 : 1));

  const interest = await journeyInterest({ prisma }, workspaceId);

  return sql.transaction(async (tx) => {
    const need = await routingNeed(interest, tx, contactIds);
    const route = spreadByContact(
      rows.map((r) => ({ contactId: r.contactId, route: need(r.contactId, r.m.event) })),
    );
    const toRoute = new Set(rows.filter((_, i) => route[i]).map((r) => r.id));
    const routedContacts = new Set(rows.filter((_, i) => route[i]).map((r) => r.contactId));
    // Events no journey can care about are stored as routed already (see `routingNeed`).
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, anonymous_id, properties, timestamp, received_at, routed_at)
       SELECT i, $1, mid, t, n, c, u, a, p::jsonb, ts, $11::timestamp(3), CASE WHEN r THEN NULL ELSE $11::timestamp(3) END
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamp(3)[], $12::bool[])
         WITH ORDINALITY AS x(i, mid, t, n, c, u, a, p, ts, r, o)
       ORDER BY o
       ON CONFLICT (workspace_id, message_id) DO NOTHING
       RETURNING id`,
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
        ordered.map((r) => toRoute.has(r.id)),
      ],
    );
    const fresh = new Set(inserted.map((r) => r.id));

    // Duplicates answer with the event stored the first time.
    const seen = new Map<string, { id: string; contactId: string | null }>();
    const duplicates = rows.filter((r) => !fresh.has(r.id)).map((r) => r.m.messageId);
    if (duplicates.length > 0) {
      for (const e of await tx.query<{ id: string; message_id: string; contact_id: string | null }>(
        `SELECT id, message_id, contact_id FROM events WHERE workspace_id = $1 AND message_id = ANY($2::text[])`,
        [workspaceId, duplicates],
      ))
        seen.set(e.message_id, { id: e.id, contactId: e.contact_id });
    }

    const scored: NewEvent[] = rows.flatMap((r) =>
      fresh.has(r.id) && r.m.type === 'track' && r.m.event && r.contactId
        ? [
            {
              id: r.id,
              contactId: r.contactId,
              name: r.m.event,
              properties: r.m.properties,
              atMs: r.m.timestamp.getTime(),
            },
          ]
        : [],
    );
    const results = await scoreNewEvents(tx, active, scored);

    // Thresholds: contacts whose engagement moved, and identified contacts whose fit may have.
    const now = Date.now();
    const stageEvents: string[] = [];
    for (const model of active) {
      const scoredRows = results.find((r) => r.model === model)?.rows ?? [];
      const touched = new Map(scoredRows.map((row) => [row.contactId, row.decayed]));
      const ids = new Set(touched.keys());
      rows.forEach(
        (r) => r.m.type === 'identify' && fresh.has(r.id) && r.contactId && ids.add(r.contactId),
      );
      const stages = new Map(scoredRows.map((row) => [row.contactId, row.stage]));
      const changes = await updateStages(tx, model, [...ids].sort(), touched, stages, now);
      if (changes.length === 0) continue;
      const stageIds = changes.map(() => newId());
      const stageRoute = changes.map(
        (c) => routedContacts.has(c.contactId) || need(c.contactId, STAGE_CHANGED_EVENT),
      );
      stageEvents.push(...stageIds.filter((_, i) => stageRoute[i]));
      await tx.query(
        `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, properties, timestamp, received_at, routed_at)
         SELECT i, $1, 'stage-' || i, 'track', $2, c, p::jsonb, $5::timestamp(3), $5::timestamp(3), CASE WHEN r THEN NULL ELSE $5::timestamp(3) END
         FROM unnest($3::text[], $4::text[], $6::text[], $7::bool[]) AS x(i, c, p, r)`,
        [
          workspaceId,
          STAGE_CHANGED_EVENT,
          stageIds,
          changes.map((c) => c.contactId),
          sqlTime(now),
          changes.map((c) =>
            JSON.stringify({ from: c.from, to: c.to, model: c.model, ...c.scores }),
          ),
          stageRoute,
        ],
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
