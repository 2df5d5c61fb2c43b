import { newId, sqlTime, type Sql } from '../../store/index.js';
import type { EngineDeps } from '../deps.js';
import { routeStored } from '../route-stored.js';
import { scoreNewEvents } from '../score-events.js';
import { activeScoringPlans, type ActiveScoringPlan } from '../scoring-plans.js';
import { STAGE_CHANGED_EVENT, updateStages } from '../stage-update.js';

/**
 * Records an event Drumbeat itself observed (unsubscribed, email.opened, email.clicked,
 * task_completed, ...) for a contact it already knows, scores it under the workspace's active
 * models in the transaction that stores it (as accepted events are), and routes it like any
 * other, so journeys and score rules see it. `messageId` makes it idempotent: recording the
 * same one twice stores, scores and routes it once.
 */
export async function recordSystemEvent(
  deps: EngineDeps,
  event: {
    readonly workspaceId: string;
    readonly contactId: string;
    readonly name: string;
    readonly messageId: string;
    readonly properties: Readonly<Record<string, unknown>>;
    readonly timestamp?: Date;
  },
): Promise<{ readonly id: string; readonly stored: boolean }> {
  const atMs = (event.timestamp ?? new Date()).getTime();
  const active = await activeScoringPlans(deps.sql, event.workspaceId);
  const recorded = await deps.sql.transaction(async (tx) => {
    const id = newId();
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, properties, timestamp, received_at)
       VALUES ($1, $2, $3, 'track', $4, $5, $6::jsonb, $7::timestamp(3), $8::timestamp(3))
       ON CONFLICT (workspace_id, message_id) DO NOTHING
       RETURNING id`,
      [
        id,
        event.workspaceId,
        event.messageId,
        event.name,
        event.contactId,
        JSON.stringify(event.properties),
        sqlTime(atMs),
        sqlTime(Date.now()),
      ],
    );
    if (!inserted[0]) {
      const [first] = await tx.query<{ id: string }>(
        `SELECT id FROM events WHERE workspace_id = $1 AND message_id = $2`,
        [event.workspaceId, event.messageId],
      );
      return { id: first?.id ?? id, stored: false, stageEvents: [] };
    }
    const scored = await scoreNewEvents(tx, active, [
      { id, contactId: event.contactId, name: event.name, properties: event.properties, atMs },
    ]);
    const stageEvents: string[] = [];
    for (const { model, rows } of scored)
      stageEvents.push(...(await moveStages(tx, event.workspaceId, model, rows)));
    return { id, stored: true, stageEvents };
  });
  // Only events not routed yet are routed: a repeat after a crash finishes the job, no more.
  await routeStored(deps, [recorded.id, ...recorded.stageEvents]);
  return { id: recorded.id, stored: recorded.stored };
}

/** Lifecycle thresholds after the score moved; each stage change is an event of its own. */
async function moveStages(
  tx: Sql,
  workspaceId: string,
  model: ActiveScoringPlan,
  rows: Awaited<ReturnType<typeof scoreNewEvents>>[number]['rows'],
): Promise<string[]> {
  const now = Date.now();
  const changes = await updateStages(
    tx,
    model,
    rows.map((r) => r.contactId).sort(),
    new Map(rows.map((r) => [r.contactId, r.decayed])),
    new Map(rows.map((r) => [r.contactId, r.stage])),
    now,
  );
  const ids = changes.map(() => newId());
  for (const [i, change] of changes.entries())
    await tx.query(
      `INSERT INTO events (id, workspace_id, message_id, type, name, contact_id, properties, timestamp, received_at)
       VALUES ($1, $2, 'stage-' || $1::text, 'track', $3, $4, $5::jsonb, $6::timestamp(3), $6::timestamp(3))`,
      [
        ids[i],
        workspaceId,
        STAGE_CHANGED_EVENT,
        change.contactId,
        JSON.stringify({ from: change.from, to: change.to, model: change.model, ...change.scores }),
        sqlTime(now),
      ],
    );
  return ids;
}
