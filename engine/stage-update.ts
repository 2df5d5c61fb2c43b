import type { Contact, Prisma } from '@prisma/client';
import type { Facts } from '../core/index.js';
import {
  fitScore,
  nextStage,
  valueAt,
  type DecayedSum,
  type ScoreValues,
} from '../scoring/index.js';
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
  tx: Prisma.TransactionClient,
  model: ActiveScoringPlan,
  contactIds: readonly string[],
  known: ReadonlyMap<string, DecayedSum>,
  nowMs: number,
): Promise<StageChange[]> {
  if (model.plan.thresholds.length === 0 || contactIds.length === 0) return [];
  const contacts = await tx.contact.findMany({ where: { id: { in: [...contactIds] } } });
  const missing = contacts.filter((c) => !known.has(c.id)).map((c) => c.id);
  const stored =
    missing.length === 0
      ? []
      : await tx.contactScore.findMany({
          where: { versionId: model.versionId, contactId: { in: missing } },
        });
  const sums = new Map(known);
  for (const s of stored) sums.set(s.contactId, { sum: s.decayedSum, anchorMs: s.anchorMs });

  const changes: StageChange[] = [];
  for (const contact of contacts) {
    const scores = scoreValues(model, contact, sums.get(contact.id), nowMs);
    const attributes = isRecord(contact.attributes) ? contact.attributes : {};
    const from = typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null;
    const to = nextStage(model.plan.thresholds, from, scores);
    if (to === from) continue;
    await tx.$executeRawUnsafe(
      `UPDATE contacts SET attributes = jsonb_set(attributes, '{lifecycleStage}', to_jsonb($2::text)), updated_at = now() WHERE id = $1`,
      contact.id,
      to,
    );
    await tx.contactScore.updateMany({
      where: { contactId: contact.id, versionId: model.versionId },
      data: { stage: to, stageAt: new Date(nowMs) },
    });
    changes.push({ contactId: contact.id, from, to, model: model.plan.modelKey, scores });
  }
  return changes;
}

/** Engagement (decayed to now), fit (from attributes now) and lead for one contact. */
export function scoreValues(
  model: ActiveScoringPlan,
  contact: Contact,
  sum: DecayedSum | undefined,
  nowMs: number,
): ScoreValues {
  const engagement = sum ? valueAt(sum, nowMs, model.plan.halfLifeMs) : 0;
  const fit = fitScore(model.plan, factsOf(contact), nowMs).total;
  return { engagement, fit, lead: engagement + fit };
}

export function factsOf(contact: Contact): Facts {
  const attributes = isRecord(contact.attributes) ? contact.attributes : {};
  return {
    contact: contactView(contact),
    tags: Array.isArray(attributes.tags)
      ? attributes.tags.filter((t) => typeof t === 'string')
      : [],
    lifecycleStage:
      typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null,
  };
}
