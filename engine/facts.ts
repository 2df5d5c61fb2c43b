import type { Contact, PrismaClient } from '@prisma/client';
import type { EmailActivity, Facts } from '../core/index.js';
import { fitScore, valueAt } from '../scoring/index.js';
import { contactView, isRecord } from './contact-view.js';
import { activeScoringPlans } from './scoring-plans.js';
import { factsOf } from './stage-update.js';

/**
 * A fresh snapshot of a contact for conditions (entry rules, branches, goals): attributes and
 * the tags, lists, scores and lifecycle stage, plus — inside an enrollment — which of its
 * emails were sent. Null when the contact does not exist (erased, or another workspace's).
 */
export async function loadContactFacts(
  prisma: PrismaClient,
  workspaceId: string,
  contactId: string,
  enrollmentId: string | null,
): Promise<Facts | null> {
  const contact = await prisma.contact.findFirst({ where: { id: contactId, workspaceId } });
  if (!contact) return null;
  const attributes = isRecord(contact.attributes) ? contact.attributes : {};
  const emails: Record<string, EmailActivity[]> = {};
  if (enrollmentId) {
    const sent = await prisma.sideEffect.findMany({
      where: { enrollmentId, kind: 'sendEmail', status: 'done' },
      select: { stepId: true },
    });
    for (const { stepId } of sent) emails[stepId] = ['sent'];
  }
  return {
    contact: contactView(contact),
    tags: strings(attributes.tags),
    lists: strings(attributes.lists),
    scores: { ...numbers(attributes.scores), ...(await modelScores(prisma, workspaceId, contact)) },
    lifecycleStage:
      typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null,
    emails,
  };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function numbers(value: unknown): Record<string, number> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}

/**
 * `score.engagement`, `score.fit` and `score.lead` under the workspace's active scoring model
 * (the first, when there are several), decayed exactly to now; manual points from journey
 * steps (`adjustScore`) sit beside them under their own names.
 */
async function modelScores(
  prisma: PrismaClient,
  workspaceId: string,
  contact: Contact,
  nowMs = Date.now(),
): Promise<Record<string, number>> {
  const [model] = await activeScoringPlans(prisma, workspaceId);
  if (!model) return {};
  const stored = await prisma.contactScore.findUnique({
    where: { contactId_versionId: { contactId: contact.id, versionId: model.versionId } },
  });
  const engagement = stored
    ? valueAt({ sum: stored.decayedSum, anchorMs: stored.anchorMs }, nowMs, model.plan.halfLifeMs)
    : 0;
  const fit = fitScore(model.plan, factsOf(contact), nowMs).total;
  return { engagement, fit, lead: engagement + fit };
}
