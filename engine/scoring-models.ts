import type { Prisma, ScoringModel, ScoringModelVersion } from '@prisma/client';
import {
  compileScoringModel,
  validateScoringModel,
  type Problem,
  type ScoringPlan,
} from '../definitions/index.js';
import { foldEvents, nextStage, valueAt } from '../scoring/index.js';
import { newId, retryOnDeadlock } from '../store/index.js';
import { toJson } from './json.js';
import type { EngineDeps } from './deps.js';
import { foldEvent, rescoreContact } from './rescore-contact.js';
import {
  ACTIVE_PLANS_TTL_MS,
  forgetActivePlans,
  scoringPlanOf,
  type ActiveScoringPlan,
} from './scoring-plans.js';
import { factsOf } from './stage-update.js';
import { fitScore } from '../scoring/index.js';
import { isRecord } from './contact-view.js';

export type PublishScoringResult =
  | {
      readonly ok: true;
      readonly model: ScoringModel;
      readonly version: ScoringModelVersion;
      readonly created: boolean;
    }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Validates and stores a scoring model version (unchanged definitions are not versioned again).
 * A model's first version is applied at once; later ones wait for `applyScoringVersion`, so
 * they can be previewed against history first.
 */
export async function publishScoringModel(
  deps: EngineDeps,
  workspaceId: string,
  document: unknown,
): Promise<PublishScoringResult> {
  const validated = validateScoringModel(document);
  if (!validated.ok) return validated;
  const plan = compileScoringModel(validated.value);
  const result = await deps.prisma.$transaction(async (tx) => {
    const model = await tx.scoringModel.upsert({
      where: { workspaceId_key: { workspaceId, key: plan.modelKey } },
      create: { id: newId(), workspaceId, key: plan.modelKey, name: plan.name },
      update: { name: plan.name },
    });
    const latest = await tx.scoringModelVersion.findFirst({
      where: { modelId: model.id },
      orderBy: { version: 'desc' },
    });
    if (latest && latest.hash === plan.hash)
      return { ok: true as const, model, version: latest, created: false };
    const version = await tx.scoringModelVersion.create({
      data: {
        id: newId(),
        modelId: model.id,
        version: (latest?.version ?? 0) + 1,
        hash: plan.hash,
        definition: toJson(validated.value),
        plan: toJson(plan),
      },
    });
    return { ok: true as const, model, version, created: true };
  });
  if (result.created && result.model.activeVersionId === null) {
    const applied = await applyScoringVersion(deps, workspaceId, result.version.id);
    return { ...result, model: applied.model, version: applied.version };
  }
  return result;
}

/**
 * Makes a version the active one and rescores every contact with events under it, reporting
 * progress on the version (`rescoreDone` of `rescoreTotal`). New events are scored under the
 * new version from the moment it is active; rescoring each contact locks its score row, so an
 * event arriving meanwhile is counted once.
 */
export async function applyScoringVersion(
  deps: EngineDeps,
  workspaceId: string,
  versionId: string,
): Promise<{ model: ScoringModel; version: ScoringModelVersion; done: Promise<void> }> {
  const version = await deps.prisma.scoringModelVersion.findUniqueOrThrow({
    where: { id: versionId },
  });
  const listedAt = new Date();
  const contacts = await contactsWithEvents(deps.prisma, workspaceId);
  const model = await deps.prisma.scoringModel.update({
    where: { id: version.modelId },
    data: { activeVersionId: versionId },
  });
  const started = await deps.prisma.scoringModelVersion.update({
    where: { id: versionId },
    data: {
      appliedAt: new Date(),
      rescoreStatus: 'running',
      rescoreTotal: contacts.length,
      rescoreDone: 0,
    },
  });
  forgetActivePlans(workspaceId);
  const active: ActiveScoringPlan = {
    modelId: model.id,
    versionId,
    plan: scoringPlanOf(version.plan),
  };
  const activatedAt = Date.now();
  const rescore = async () => {
    await rescoreAll(deps, active, contacts, 0);
    // Other processes keep the versions they read for up to ACTIVE_PLANS_TTL_MS, and score
    // under the old one meanwhile: contacts with events from the listing on (new contacts, or
    // ones rescored before such an event came) are scored again once that time has passed.
    const wait = activatedAt + ACTIVE_PLANS_TTL_MS + 100 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const late = await contactsWithEvents(deps.prisma, workspaceId, listedAt);
    await rescoreAll(deps, active, late, contacts.length);
    await deps.prisma.scoringModelVersion.update({
      where: { id: versionId },
      data: { rescoreStatus: 'done' },
    });
  };
  const done = rescore().catch(async (error: unknown) => {
    console.error('[drumbeat] rescoring failed:', error);
    // The database may be gone (the process is stopping): then the status stays `running`.
    await deps.prisma.scoringModelVersion
      .update({ where: { id: versionId }, data: { rescoreStatus: 'failed' } })
      .catch(() => undefined);
  });
  return { model, version: started, done };
}

/** Rescores `contactIds`, counting progress on from `before` contacts already done. */
async function rescoreAll(
  deps: EngineDeps,
  model: ActiveScoringPlan,
  contactIds: readonly string[],
  before: number,
): Promise<void> {
  const PAGE = 100;
  if (before > 0 && contactIds.length > 0)
    await deps.prisma.scoringModelVersion.update({
      where: { id: model.versionId },
      data: { rescoreTotal: before + contactIds.length },
    });
  for (let i = 0; i < contactIds.length; i += PAGE) {
    for (const contactId of contactIds.slice(i, i + PAGE)) {
      // A scoring pass or an ingest for the same contact can meet this one in a deadlock (they
      // take its cap buckets before its score row, this the other way round); the loser runs again.
      await retryOnDeadlock(() =>
        deps.prisma.$transaction((tx) => rescoreContact(tx, model, contactId), {
          maxWait: 60_000,
          timeout: 60_000,
        }),
      );
    }
    await deps.prisma.scoringModelVersion.update({
      where: { id: model.versionId },
      data: { rescoreDone: before + Math.min(contactIds.length, i + PAGE) },
    });
  }
}

export interface StagePreview {
  readonly contacts: number;
  readonly changes: readonly {
    readonly contactId: string;
    readonly userId: string | null;
    readonly from: string | null;
    readonly to: string | null;
    readonly lead: number;
  }[];
}

/**
 * "Which contacts would change stage?": replays every contact's stored events through a model
 * that is not applied yet and compares the stage it would give with the stage they have now.
 */
export async function previewScoringModel(
  deps: EngineDeps,
  workspaceId: string,
  plan: ScoringPlan,
  nowMs = Date.now(),
): Promise<StagePreview> {
  const ids = await contactsWithEvents(deps.prisma, workspaceId);
  const changes: StagePreview['changes'][number][] = [];
  for (const contactId of ids) {
    const contact = await deps.prisma.contact.findUnique({ where: { id: contactId } });
    if (!contact) continue;
    const events = await deps.prisma.event.findMany({
      where: { contactId, type: 'track' },
      select: { id: true, name: true, properties: true, timestamp: true, receivedAt: true },
    });
    const folded = foldEvents(plan, events.map(foldEvent));
    const engagement = valueAt(folded.decayed, nowMs, plan.halfLifeMs);
    const fit = fitScore(plan, factsOf(contact), nowMs).total;
    const attributes = isRecord(contact.attributes) ? contact.attributes : {};
    const from = typeof attributes.lifecycleStage === 'string' ? attributes.lifecycleStage : null;
    const to = nextStage(plan.thresholds, from, { engagement, fit, lead: engagement + fit });
    if (to !== from)
      changes.push({ contactId, userId: contact.userId, from, to, lead: engagement + fit });
  }
  return { contacts: ids.length, changes };
}

/** The workspace's contacts with events (received at or after `since`, when given). */
async function contactsWithEvents(
  prisma: Prisma.TransactionClient,
  workspaceId: string,
  since: Date | null = null,
): Promise<string[]> {
  const rows = await prisma.$queryRawUnsafe<{ contact_id: string }[]>(
    `SELECT DISTINCT contact_id FROM events
     WHERE workspace_id = $1 AND contact_id IS NOT NULL AND ($2::timestamp(3) IS NULL OR received_at >= $2::timestamp(3))
     ORDER BY contact_id`,
    workspaceId,
    since,
  );
  return rows.map((r) => r.contact_id);
}
