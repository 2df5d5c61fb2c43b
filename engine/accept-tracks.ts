import { newId, sqlTime, type Sql } from '../store/index.js';
import type { AcceptResult, AcceptedMessage } from './accept.js';
import { contactSnapshotJson, type ContactSnapshot } from './contact-record.js';
import type { EngineDeps } from './deps.js';
import type { IncomingMessage } from './ingest.js';
import { journeyInterest } from './journeys.js';
import { routedContactsCtes } from './route-need.js';

/**
 * A `track` whose contact is found (or made) by its `userId` alone: no anonymous id to promote
 * or merge, no contact given, no traits to apply. Most of a firehose is these.
 */
export function isPlainTrack(m: IncomingMessage): boolean {
  return m.type === 'track' && !!m.event && !!m.userId && !m.anonymousId && !m.contactId;
}

/**
 * Stores a batch of plain tracks in one statement, marked for the background scorer when
 * `forScorer` (engine/scorer.ts; else nothing in them scores): it finds the
 * contacts by `userId`, creates the missing ones, decides routing (engine/route-need.ts) and
 * inserts the events, deduplicated on `messageId`. A contact that another request created at
 * the same moment is not visible to that statement; its messages go to `rest`, the general
 * path, which finds it. With `withSnapshots` (a single track, routed before its request
 * answers) it also reads what routing reads first about each contact whose event needs
 * routing, one round trip fewer on that path; a contact it has just made is read by routing.
 */
export async function acceptTracks(
  { prisma, sql }: Pick<EngineDeps, 'prisma' | 'sql'>,
  workspaceId: string,
  messages: readonly IncomingMessage[],
  receivedAt: Date,
  forScorer: boolean,
  rest: (messages: readonly IncomingMessage[]) => Promise<AcceptResult>,
  /** Read the snapshot of each event's contact that needs routing in the same statement. */
  withSnapshots = false,
): Promise<AcceptResult> {
  const interest = await journeyInterest({ prisma }, workspaceId);
  const rows = messages.map((m) => ({ m, id: newId() }));
  // Inserted in messageId order so two batches sharing messages lock them in the same order.
  const ordered = [...rows].sort((a, b) => (a.m.messageId < b.m.messageId ? -1 : 1));
  const users = [...new Set(messages.map((m) => m.userId ?? ''))].sort();
  // `known` joins the batch's user ids instead of `user_id = ANY(...)`: on a table without
  // statistics yet, the reused plan for ANY read the workspace's every contact and compared it
  // with each id (0.65 ms for 100 ids among 500 contacts, against 0.18 ms joined); with
  // statistics both take the unique index.
  const ctes = `WITH x AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[])
         WITH ORDINALITY AS x(i, mid, n, u, p, ts, o)
     ),
     known AS (
       SELECT c.id, c.user_id FROM unnest($11::text[]) AS k(uid)
       JOIN contacts c ON c.workspace_id = $1 AND c.user_id = k.uid
     ),
     created AS (
       INSERT INTO contacts (id, workspace_id, user_id, updated_at)
       SELECT nid, $1, nu, now() FROM unnest($11::text[], $12::text[]) AS y(nu, nid)
       WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.user_id = y.nu)
       ORDER BY nu
       ON CONFLICT (workspace_id, user_id) DO NOTHING
       RETURNING id, user_id
     ),
     xc AS (
       SELECT x.*, r.id AS c FROM x
       JOIN (SELECT id, user_id FROM known UNION ALL SELECT id, user_id FROM created) r ON r.user_id = x.u
     ),
     ${routedContactsCtes('xc', { conditions: '$9::bool', events: '$10::text[]' })}`;
  const insert = `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, user_id, properties, timestamp, received_at, routed_at, score_xid)
     SELECT i, $1, mid, 'track', n, c, u, p::jsonb, (to_timestamp(ts / 1000) AT TIME ZONE 'UTC')::timestamp(3), $8::timestamp(3),
       CASE WHEN c IN (SELECT c FROM routed) THEN NULL ELSE $8::timestamp(3) END,
       CASE WHEN $13::bool THEN pg_current_xact_id() END
     FROM xc
     ORDER BY o
     ON CONFLICT (workspace_id, message_id) DO NOTHING
     RETURNING id, contact_id, routed_at IS NULL AS route`;
  // Batches keep the plain statement; a single track also reads its contact beside it.
  const text = withSnapshots
    ? `${ctes}, stored AS (${insert})
     SELECT id, contact_id, route,
       CASE WHEN route THEN ${contactSnapshotJson('stored.contact_id')} END AS snapshot
     FROM stored`
    : `${ctes}
     ${insert}`;
  const inserted = await sql.query<{
    id: string;
    contact_id: string;
    route: boolean;
    snapshot?: ContactSnapshot | null;
  }>(
    text,
    [
      workspaceId,
      ordered.map((r) => r.id),
      ordered.map((r) => r.m.messageId),
      ordered.map((r) => r.m.event),
      ordered.map((r) => r.m.userId),
      ordered.map((r) => JSON.stringify(r.m.properties)),
      // Epoch milliseconds: formatting each as text was about a quarter of this statement's
      // parameter building in this process's profile (as for score entries, score-sql.ts).
      ordered.map((r) => r.m.timestamp.getTime()),
      sqlTime(receivedAt.getTime()),
      interest.conditions,
      [...interest.events],
      users,
      users.map(() => newId()),
      forScorer,
    ],
    { name: withSnapshots ? 'accept-track-snapshot' : 'accept-tracks' },
  );
  const fresh = new Map(inserted.map((r) => [r.id, r]));

  // The rest were duplicates (answered with the event stored first) or lost a race for their
  // contact (the general path stores them).
  const seen = await firstStored(
    sql,
    workspaceId,
    rows.filter((r) => !fresh.has(r.id)).map((r) => r.m.messageId),
  );
  const racing = rows.filter((r) => !fresh.has(r.id) && !seen.has(r.m.messageId));
  const late = racing.length > 0 ? await rest(racing.map((r) => r.m)) : null;
  const lateOf = new Map(racing.map((r, i) => [r.id, late?.messages[i]]));

  return {
    messages: rows.map((r): AcceptedMessage => {
      const stored = fresh.get(r.id);
      if (stored)
        return { eventId: r.id, contactId: stored.contact_id, stored: true, warning: null };
      const first = seen.get(r.m.messageId);
      if (first)
        return { eventId: first.id, contactId: first.contactId, stored: false, warning: null };
      const other = lateOf.get(r.id);
      if (!other) throw new Error(`message ${r.m.messageId} was neither stored nor found`);
      return other;
    }),
    newEventIds: [
      ...rows.filter((r) => fresh.get(r.id)?.route).map((r) => r.id),
      ...(late?.newEventIds ?? []),
    ],
    ...(withSnapshots
      ? {
          snapshots: new Map(
            inserted.flatMap((r) => (r.snapshot ? [[r.contact_id, r.snapshot] as const] : [])),
          ),
        }
      : {}),
  };
}

/** The events first stored under these message ids. */
export async function firstStored(
  sql: Sql,
  workspaceId: string,
  messageIds: readonly string[],
): Promise<Map<string, { id: string; contactId: string | null }>> {
  if (messageIds.length === 0) return new Map();
  const rows = await sql.query<{ id: string; message_id: string; contact_id: string | null }>(
    `SELECT id, message_id, contact_id FROM events WHERE workspace_id = $1 AND message_id = ANY($2::text[])`,
    [workspaceId, messageIds],
  );
  return new Map(rows.map((e) => [e.message_id, { id: e.id, contactId: e.contact_id }]));
}
