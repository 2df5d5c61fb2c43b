import { scoreLagSeconds } from '../metrics/index.js';
import { newId, retryOnDeadlock, sqlTime, violates, type Sql } from '../store/index.js';
import type { EngineDeps } from './deps.js';
import { isRecord } from './contact-view.js';
import { CONTACT_CHANGED_EVENT } from './contacts/change-event.js';
import { journeyInterest, type JourneyInterest } from './journeys.js';
import { busyContactsSql } from './route-need.js';
import { repeatUntilStopped } from './repeat.js';
import { routeStored } from './route-stored.js';
import { scoreNewEvents, type ModelScores, type NewEvent } from './score-events.js';
import type { EntryConflicts } from './score-sql.js';
import { activeScoringPlans, type ActiveScoringPlan } from './scoring-plans.js';
import { STAGE_CHANGED_EVENT, updateStages } from './stage-update.js';

/**
 * Background scoring for bulk ingestion (`batch`, CSV imports). Those events are stored with the
 * id of the transaction that stored them (`score_xid`), and a scorer pass scores them later in
 * large groups: one set of score statements for thousands of events instead of one per request,
 * which is what lets ingestion keep up with a firehose.
 *
 * Exactly once, across processes, without a per-event "scored" write: one cursor row holds the
 * (transaction id, event id) position up to which everything is scored, and a pass moves it in
 * the same transaction as the scores it writes. A pass only reads events of transactions older
 * than the oldest one still running (the snapshot's xmin), so an event whose transaction
 * commits late is never skipped: the cursor cannot pass it until it has committed.
 *
 * Readers that must see their own writes (the score API, routing, which may evaluate score
 * conditions) call {@link settleScores} first.
 */

/** Events scored in one pass (one transaction). */
const PASS_LIMIT = 5_000;

export interface ScorePass {
  readonly scored: number;
  /** A full page: more events may be waiting. */
  readonly more: boolean;
  /** Stage-change events the pass stored that journeys may care about (route them next). */
  readonly stageEventIds: readonly string[];
}

interface PendingRow {
  id: string;
  workspace_id: string;
  type: string;
  name: string | null;
  contact_id: string | null;
  properties: unknown;
  at_ms: number;
  received_ms: number;
  xid: string;
}

/**
 * One pass: scores the oldest pending events (up to `limit`) and moves the cursor past them.
 * Plain SQL only (no Prisma inside the transaction: on the embedded database that deadlocks).
 */
export async function scorePass(
  sql: Sql,
  /** What each workspace's journeys trigger on, where known; unknown: every stage event is routed. */
  interests: ReadonlyMap<string, JourneyInterest> = new Map(),
  limit = PASS_LIMIT,
): Promise<ScorePass> {
  // A pass can meet a rescore or a merge of one of its contacts in a deadlock: it runs again.
  const pass = (conflicts: EntryConflicts) =>
    retryOnDeadlock(() => passTransaction(sql, interests, limit, conflicts));
  // The cursor gives each event to one pass, so its entries are new; should one be recorded
  // already, the pass runs again with it skipped, as stores elsewhere do, rather than fail for
  // good at the same event on every try.
  const result = await pass('fail').catch((error: unknown) => {
    if (!violates(error, 'score_entries_pkey')) throw error;
    console.warn('[drumbeat] a scoring pass met score entries recorded already; skipping them');
    return pass('skip');
  });
  const now = Date.now();
  for (const row of result.rows) scoreLagSeconds.observe(Math.max(0, now - row.received_ms) / 1000);
  recordLags(result.rows.map((r) => now - r.received_ms));
  return { scored: result.rows.length, more: result.more, stageEventIds: result.stageEventIds };
}

/** The pass's transaction: reads, scores, and moves the cursor past what it read. */
function passTransaction(
  sql: Sql,
  interests: ReadonlyMap<string, JourneyInterest>,
  limit: number,
  conflicts: EntryConflicts,
) {
  return sql.transaction(async (tx) => {
    const [cursor] = await tx.query<{ xid: string; event_id: string; upto: string }>(
      `SELECT xid::text AS xid, event_id, pg_snapshot_xmin(pg_current_snapshot())::text AS upto
       FROM score_cursor WHERE id = 'events' FOR UPDATE`,
    );
    if (!cursor) throw new Error('score_cursor has no row: the database is not migrated');
    const rows = await tx.query<PendingRow>(
      `SELECT id, workspace_id, type, name, contact_id, properties,
              (extract(epoch FROM timestamp) * 1000)::float8 AS at_ms,
              (extract(epoch FROM received_at) * 1000)::float8 AS received_ms,
              score_xid::text AS xid
       FROM events
       WHERE score_xid IS NOT NULL AND (score_xid, id) > ($1::xid8, $2) AND score_xid < $3::xid8
       ORDER BY score_xid, id
       LIMIT $4`,
      [cursor.xid, cursor.event_id, cursor.upto, limit],
      { name: 'score-pending' },
    );
    const more = rows.length === limit;
    const last = rows.at(-1);
    const next =
      more && last ? { xid: last.xid, eventId: last.id } : { xid: cursor.upto, eventId: '' };

    const byWorkspace = new Map<string, PendingRow[]>();
    for (const row of rows) {
      const group = byWorkspace.get(row.workspace_id);
      if (group) group.push(row);
      else byWorkspace.set(row.workspace_id, [row]);
    }
    const stageEventIds: string[] = [];
    for (const [workspaceId, events] of byWorkspace) {
      const active = await activeScoringPlans(tx, workspaceId);
      const interest = interests.get(workspaceId);
      stageEventIds.push(
        ...(await scoreStored(tx, workspaceId, active, events, interest, conflicts)),
      );
    }
    await tx.query(`UPDATE score_cursor SET xid = $1::xid8, event_id = $2 WHERE id = 'events'`, [
      next.xid,
      next.eventId,
    ]);
    return { rows, more, stageEventIds };
  });
}

/** Scores one workspace's share of a pass; returns the stage events that need routing. */
async function scoreStored(
  tx: Sql,
  workspaceId: string,
  active: readonly ActiveScoringPlan[],
  rows: readonly PendingRow[],
  interest: JourneyInterest | undefined,
  conflicts: EntryConflicts,
): Promise<string[]> {
  const events: NewEvent[] = rows.flatMap((r) =>
    r.type === 'track' && r.name && r.contact_id
      ? [
          {
            id: r.id,
            contactId: r.contact_id,
            name: r.name,
            properties: isRecord(r.properties) ? r.properties : {},
            atMs: Number(r.at_ms),
            receivedMs: Number(r.received_ms),
          },
        ]
      : [],
  );
  // An identify, or a change made outside one, may have moved the fit and so the stage.
  const identified = rows.flatMap((r) =>
    (r.type === 'identify' || r.name === CONTACT_CHANGED_EVENT) && r.contact_id
      ? [r.contact_id]
      : [],
  );
  const results = await scoreNewEvents(tx, active, events, conflicts);
  return recordStages(tx, workspaceId, active, results, identified, interest ?? null);
}

/**
 * After scoring: moves the lifecycle stage of contacts whose engagement moved (and of identified
 * contacts, whose fit may have) and stores a stage-change event for each move. Returns the ids of
 * the stage events journeys may care about (engine/route-need.ts; all of them when `interest` is
 * not known); the rest are stored as routed already.
 */
export async function recordStages(
  tx: Sql,
  workspaceId: string,
  active: readonly ActiveScoringPlan[],
  results: readonly ModelScores[],
  identified: readonly string[],
  interest: JourneyInterest | null,
): Promise<string[]> {
  const now = Date.now();
  const toRoute: string[] = [];
  for (const model of active) {
    const scoredRows = results.find((r) => r.model === model)?.rows ?? [];
    const touched = new Map(scoredRows.map((row) => [row.contactId, row.decayed]));
    const ids = new Set([...touched.keys(), ...identified]);
    const stages = new Map(scoredRows.map((row) => [row.contactId, row.stage]));
    const changes = await updateStages(tx, model, [...ids].sort(), touched, stages, now);
    toRoute.push(
      ...(await storeStageEvents(
        tx,
        workspaceId,
        changes.map((c) => ({
          contactId: c.contactId,
          messageId: null,
          properties: { from: c.from, to: c.to, model: c.model, ...c.scores },
        })),
        interest,
        now,
      )),
    );
  }
  return toRoute;
}

/**
 * Stores a `lifecycle_stage_changed` event for each stage move, whoever made it (score
 * thresholds, an identify's traits), and returns those to route: the contact has running
 * enrollments, which hear it, or a journey may start on it (`interest` null: any may). An
 * event keyed by `messageId` is stored once; null keys it by its own new id.
 */
export async function storeStageEvents(
  tx: Sql,
  workspaceId: string,
  moves: readonly {
    readonly contactId: string;
    readonly messageId: string | null;
    readonly properties: Readonly<Record<string, unknown>>;
  }[],
  interest: JourneyInterest | null,
  nowMs: number,
): Promise<string[]> {
  if (moves.length === 0) return [];
  const keyed = moves.map((m) => {
    const id = newId();
    return { id, messageId: m.messageId ?? `stage-${id}` };
  });
  const stored = await tx.query<{ id: string; route: boolean }>(
    `WITH busy AS (${busyContactsSql('$4::text[]')})
     INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, properties, timestamp, received_at, routed_at)
     SELECT newid, $1, mid, 'track', $2, c, p::jsonb, $5::timestamp(3), $5::timestamp(3),
       CASE WHEN $7::bool OR c IN (SELECT contact_id FROM busy) THEN NULL ELSE $5::timestamp(3) END
     FROM unnest($3::text[], $4::text[], $6::text[], $8::text[]) AS x(newid, c, p, mid)
     ON CONFLICT (workspace_id, message_id) DO NOTHING
     RETURNING id, routed_at IS NULL AS route`,
    [
      workspaceId,
      STAGE_CHANGED_EVENT,
      keyed.map((k) => k.id),
      moves.map((m) => m.contactId),
      sqlTime(nowMs),
      moves.map((m) => JSON.stringify(m.properties)),
      !interest || interest.conditions || interest.events.has(STAGE_CHANGED_EVENT),
      keyed.map((k) => k.messageId),
    ],
  );
  return stored.filter((r) => r.route).map((r) => r.id);
}

/** Passes run one at a time per process; a second process waits on the cursor row instead. */
let passes: Promise<unknown> = Promise.resolve();

function serially<T>(work: () => Promise<T>): Promise<T> {
  const next = passes.then(work, work);
  passes = next.catch(() => undefined);
  return next;
}

/** How long a reader waits for the scorer before it reads what is there. */
const SETTLE_TIMEOUT_MS = 10_000;

/**
 * Resolves when every event committed before the call is scored: runs passes until none is
 * pending (routing the stage events they store). One query when nothing is pending. A pass that
 * cannot move (a long transaction elsewhere holds the snapshot's xmin back) is retried shortly;
 * after {@link SETTLE_TIMEOUT_MS} the caller goes on with what is scored.
 */
export async function settleScores(deps: EngineDeps): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let target: string | null = null;
  for (;;) {
    // The first pending event's workspace: its journeys' interest is read here, outside the
    // pass's transaction, so the pass can store stage events no journey cares about as routed.
    const pending = await pendingBefore(deps.sql, target);
    target = pending.target;
    if (pending.workspaceId === null) return;
    const interests = new Map([
      [pending.workspaceId, await journeyInterest(deps, pending.workspaceId)],
    ]);
    const pass = await serially(() => scorePass(deps.sql, interests));
    if (pass.stageEventIds.length > 0) await routeStored(deps, pass.stageEventIds);
    if (pass.scored === 0) {
      if (Date.now() > deadline) {
        console.warn('[drumbeat] scores are still being computed; reading what is there');
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * The workspace of the first event not scored yet among those of transactions before `target`
 * (null: before this statement's snapshot's xmax, which it returns as the target to keep).
 */
async function pendingBefore(
  sql: Sql,
  target: string | null,
): Promise<{ target: string; workspaceId: string | null }> {
  const [row] = await sql.query<{ target: string; workspace_id: string | null }>(
    // LATERAL makes the cursor a parameter of the index scan (a plain join scans every event).
    `WITH t AS (SELECT COALESCE($1::xid8, pg_snapshot_xmax(pg_current_snapshot())) AS target)
     SELECT t.target::text AS target, p.workspace_id
     FROM t, score_cursor c LEFT JOIN LATERAL (
       SELECT e.workspace_id FROM events e
       WHERE e.score_xid IS NOT NULL AND (e.score_xid, e.id) > (c.xid, c.event_id)
         AND e.score_xid < (SELECT target FROM t)
       ORDER BY e.score_xid, e.id LIMIT 1
     ) p ON true
     WHERE c.id = 'events'`,
    [target],
    { name: 'score-pending-first' },
  );
  if (!row) throw new Error('score_cursor has no row: the database is not migrated');
  return { target: row.target, workspaceId: row.workspace_id };
}

/**
 * Keeps scoring in the background: every `intervalMs`, a pass for whatever is pending (events
 * a crashed process accepted, or another process's). Returns the stopper.
 */
export function runScorer(deps: EngineDeps, intervalMs = 1_000): () => Promise<void> {
  return repeatUntilStopped(intervalMs, 'a scoring pass failed', () => settleScores(deps));
}

/** Acceptance-to-scored times of this process's passes (ms), for the ingest benchmark. */
const lags: number[] = [];
const MAX_LAGS = 200_000;

function recordLags(values: readonly number[]): void {
  for (const v of values) if (lags.length < MAX_LAGS) lags.push(v);
}

export function scoreLags(): readonly number[] {
  return lags;
}
