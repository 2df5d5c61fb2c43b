import { listFacts, type Facts } from '../core/index.js';
import {
  fitScore,
  nextStage,
  valueAt,
  type DecayedSum,
  type ScoreValues,
} from '../scoring/index.js';
import { sqlTime, type Sql } from '../store/index.js';
import { contactRecords, type ContactRecord } from './contact-record.js';
import { contactView, isRecord } from './contact-view.js';
import type { ActiveScoringPlan } from './scoring-plans.js';

export interface StageChange {
  readonly contactId: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly model: string;
  readonly scores: ScoreValues;
}

/** Event name journeys trigger on when thresholds move a contact between stages. */
export const STAGE_CHANGED_EVENT = 'lifecycle_stage_changed';

/**
 * Re-reads the thresholds for contacts whose scores or attributes just changed and moves their
 * lifecycle stage (kept in the contact's `lifecycleStage` attribute, where conditions read it).
 * Runs in the same transaction as the change, so the stage event is stored with its cause.
 */
export async function updateStages(
  tx: Sql,
  model: ActiveScoringPlan,
  contactIds: readonly string[],
  known: ReadonlyMap<string, DecayedSum>,
  stages: ReadonlyMap<string, string | null>,
  nowMs: number,
): Promise<StageChange[]> {
  if (model.plan.thresholds.length === 0 || contactIds.length === 0) return [];
  const candidates = contactIds.filter((id) =>
    mayMove(model, known.get(id), stages.get(id), nowMs),
  );
  if (candidates.length === 0) return [];
  const contacts = (await contactRecords(tx, candidates)).sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const missing = contacts.filter((c) => !known.has(c.id)).map((c) => c.id);
  const stored =
    missing.length === 0
      ? []
      : await tx.query<{ contact_id: string; decayed_sum: number; anchor_ms: number }>(
          `SELECT contact_id, decayed_sum, anchor_ms FROM contact_scores
           WHERE version_id = $1 AND contact_id = ANY($2::text[])`,
          [model.versionId, missing],
        );
  const sums = new Map(known);
  for (const s of stored)
    sums.set(s.contact_id, { sum: Number(s.decayed_sum), anchorMs: Number(s.anchor_ms) });

  const changes: StageChange[] = [];
  for (const contact of contacts) {
    const scores = scoreValues(model, contact, sums.get(contact.id), nowMs);
    const attributes = isRecord(contact.attributes) ? contact.attributes : {};
    const from = typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null;
    const to = nextStage(model.plan.thresholds, from, scores);
    if (to !== from)
      changes.push({ contactId: contact.id, from, to, model: model.plan.modelKey, scores });
  }
  if (changes.length === 0) return changes;
  // One statement for all changes: a batch can move many contacts at once. Falling below every
  // threshold takes the stage away (`jsonb_set` with a null would make the whole value null).
  await tx.query(
    `WITH c(id, stage) AS (SELECT * FROM unnest($1::text[], $2::text[])),
     s AS (
       UPDATE contact_scores SET stage = c.stage, stage_at = $4::timestamp(3)
       FROM c WHERE contact_scores.contact_id = c.id AND contact_scores.version_id = $3
     )
     UPDATE contacts SET attributes = CASE WHEN c.stage IS NULL THEN attributes - 'lifecycleStage'
         ELSE jsonb_set(attributes, '{lifecycleStage}', to_jsonb(c.stage)) END,
       updated_at = now()
     FROM c WHERE contacts.id = c.id`,
    [changes.map((c) => c.contactId), changes.map((c) => c.to), model.versionId, sqlTime(nowMs)],
  );
  return changes;
}

/**
 * Whether thresholds could move a contact whose engagement is known: fit lies between the
 * model's lowest and highest possible fit, so when both extremes keep the stage the model last
 * gave, reading the contact's attributes is not needed (the common case on the ingest path).
 */
function mayMove(
  model: ActiveScoringPlan,
  sum: DecayedSum | undefined,
  stage: string | null | undefined,
  nowMs: number,
): boolean {
  if (sum === undefined || stage === undefined) return true;
  const engagement = valueAt(sum, nowMs, model.plan.halfLifeMs);
  const [low, high] = fitRange(model);
  const at = (fit: number) =>
    nextStage(model.plan.thresholds, stage, { engagement, fit, lead: engagement + fit });
  return at(low) !== stage || at(high) !== stage;
}

function fitRange(model: ActiveScoringPlan): [number, number] {
  const rules = model.plan.fitRules;
  return [
    rules.reduce((sum, r) => sum + Math.min(0, r.points), 0),
    rules.reduce((sum, r) => sum + Math.max(0, r.points), 0),
  ];
}

/** Engagement (decayed to now), fit (from attributes now) and lead for one contact. */
export function scoreValues(
  model: ActiveScoringPlan,
  contact: ContactRecord,
  sum: DecayedSum | undefined,
  nowMs: number,
): ScoreValues {
  const engagement = sum ? valueAt(sum, nowMs, model.plan.halfLifeMs) : 0;
  const fit = fitScore(model.plan, factsOf(contact), nowMs).total;
  return { engagement, fit, lead: engagement + fit };
}

export function factsOf(contact: ContactRecord): Facts {
  const attributes = isRecord(contact.attributes) ? contact.attributes : {};
  return {
    contact: contactView(contact),
    ...listFacts(
      Array.isArray(attributes.tags) ? attributes.tags.filter((t) => typeof t === 'string') : [],
      Array.isArray(attributes.lists) ? attributes.lists.filter((l) => typeof l === 'string') : [],
    ),
    lifecycleStage:
      typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null,
  };
}
