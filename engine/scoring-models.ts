import type { Prisma, PrismaClient, ScoringModel, ScoringModelVersion } from '@prisma/client';
import { WorkflowFailedError } from '@temporalio/client';
import { rescoreWorkflow } from '../workflows/index.js';
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
import { journeyInterest } from './journeys.js';
import { routeStored } from './route-stored.js';
import { recordStages } from './scorer.js';
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
  if (await claimFirstApply(deps, result)) {
    const applied = await applyScoringVersion(deps, workspaceId, result.version.id).catch(
      async (error: unknown) => {
        // Failed before anything was active: the claim is given up for the retry to take.
        await deps.prisma.scoringModelVersion.updateMany({
          where: {
            id: result.version.id,
            rescoreStatus: 'running',
            model: { activeVersionId: null },
          },
          data: { rescoreStatus: 'failed' },
        });
        throw error;
      },
    );
    return { ...result, model: applied.model, version: applied.version };
  }
  return result;
}

/**
 * Whether this publish applies the version: the model has none active, and no other publish
 * is applying it. Claimed in one statement, so two publishes of a new model at once (a client
 * retrying after a timeout) apply it once. A first apply whose rescore could not start leaves
 * nothing active (`applyScoringVersion`), so publishing the same definition again claims it.
 */
async function claimFirstApply(
  deps: EngineDeps,
  result: { readonly model: ScoringModel; readonly version: ScoringModelVersion },
): Promise<boolean> {
  if (result.model.activeVersionId !== null) return false;
  const claimed = await deps.prisma.scoringModelVersion.updateMany({
    where: {
      id: result.version.id,
      rescoreStatus: { in: ['none', 'failed'] },
      model: { activeVersionId: null },
    },
    data: { rescoreStatus: 'running' },
  });
  return claimed.count === 1;
}

/**
 * Makes a version the active one and rescores every contact with events under it, reporting
 * progress on the version (`rescoreDone` of `rescoreTotal`). New events are scored under the
 * new version from the moment it is active; rescoring each contact locks its score row, so an
 * event arriving meanwhile is counted once.
 *
 * The rescore runs as a Temporal workflow (workflows/rescore.workflow.ts), a page of contacts
 * per activity, so it outlives the process that applied the version: a restart or a deploy in
 * the middle of a large workspace's rescore used to leave it `running` for good, with the
 * contacts not reached yet scored under the new version from their next event only.
 * `done()` waits for the workflow (it never rejects: a failure is logged; the workflow records it).
 */
export async function applyScoringVersion(
  deps: EngineDeps,
  workspaceId: string,
  versionId: string,
): Promise<{ model: ScoringModel; version: ScoringModelVersion; done: () => Promise<void> }> {
  const version = await deps.prisma.scoringModelVersion.findUniqueOrThrow({
    where: { id: versionId },
  });
  const before = await deps.prisma.scoringModel.findUniqueOrThrow({
    where: { id: version.modelId },
    select: { activeVersionId: true },
  });
  const listedAt = Date.now();
  const total = await countContactsWithEvents(deps.prisma, workspaceId, null);
  const model = await deps.prisma.scoringModel.update({
    where: { id: version.modelId },
    data: { activeVersionId: versionId },
  });
  const started = await deps.prisma.scoringModelVersion.update({
    where: { id: versionId },
    data: {
      appliedAt: new Date(),
      rescoreStatus: 'running',
      rescoreTotal: total,
      rescoreDone: 0,
    },
  });
  forgetActivePlans(workspaceId);
  const activatedAt = Date.now();
  const handle = await deps.temporal.workflow
    .start(rescoreWorkflow, {
      workflowId: `rescore/${versionId}/${activatedAt}`,
      taskQueue: deps.taskQueue,
      args: [
        {
          workspaceId,
          versionId,
          listedAt,
          // Other processes keep the versions they read for up to ACTIVE_PLANS_TTL_MS and score
          // under the old one meanwhile: contacts with events from the listing on (new contacts,
          // or ones rescored before such an event came) are scored again once it has passed.
          lateFrom: activatedAt + ACTIVE_PLANS_TTL_MS + 100,
        },
      ],
    })
    .catch(async (error: unknown) => {
      await finishRescore(deps.prisma, versionId, 'failed');
      // Nothing half applied: the version active before stays so (none, for a first version,
      // which publishing it again then applies).
      await deps.prisma.scoringModel.updateMany({
        where: { id: version.modelId, activeVersionId: versionId },
        data: { activeVersionId: before.activeVersionId },
      });
      forgetActivePlans(workspaceId);
      throw error;
    });
  // Waited for only when asked: a result poll left open in every applying process outlived
  // its connection at shutdown, and the SDK's retry of it then threw out of a timer (the
  // ingest bench ended with "Channel has been shut down"). The workflow records its outcome.
  // Only the workflow's own failure is news: this process stopping while it runs is not.
  const done = () =>
    handle.result().then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof WorkflowFailedError)
          console.error('[drumbeat] rescoring failed:', error.cause ?? error);
      },
    );
  return { model, version: started, done };
}

export interface RescorePageRequest {
  readonly workspaceId: string;
  readonly versionId: string;
  /** Only contacts with events received from then on (epoch ms); null: every contact with events. */
  readonly since: number | null;
  /** The last contact id of the page before; null: from the start. */
  readonly cursor: string | null;
  readonly pageSize: number;
  /** Contacts rescored before this page, for the progress. */
  readonly doneBefore: number;
}

export interface RescorePage {
  readonly nextCursor: string | null;
  readonly rescored: number;
}

/**
 * Rescores one page of contacts under a version, moves their lifecycle stages as its
 * thresholds say (storing and routing the stage events, as scoring an event does), and records
 * the progress. Safe to run again: a contact's rescore replaces its score, a stage already
 * moved stays, and the progress is set, not added to.
 */
export async function rescorePage(
  deps: EngineDeps,
  request: RescorePageRequest,
): Promise<RescorePage> {
  const { prisma } = deps;
  const version = await prisma.scoringModelVersion.findUniqueOrThrow({
    where: { id: request.versionId },
    include: { model: { select: { activeVersionId: true } } },
  });
  const model: ActiveScoringPlan = {
    modelId: version.modelId,
    versionId: version.id,
    plan: scoringPlanOf(version.plan),
  };
  const rows = await prisma.$queryRawUnsafe<{ contact_id: string }[]>(
    `SELECT DISTINCT contact_id FROM events
     WHERE workspace_id = $1 AND contact_id IS NOT NULL AND contact_id > $2
       AND ($3::timestamp(3) IS NULL OR received_at >= $3::timestamp(3))
     ORDER BY contact_id LIMIT $4`,
    request.workspaceId,
    request.cursor ?? '',
    request.since === null ? null : new Date(request.since),
    request.pageSize,
  );
  for (const { contact_id: contactId } of rows) {
    // A scoring pass or an ingest for the same contact can meet this one in a deadlock (they
    // take its cap buckets before its score row, this the other way round); the loser runs again.
    await retryOnDeadlock(() =>
      prisma.$transaction((tx) => rescoreContact(tx, model, contactId), {
        maxWait: 60_000,
        timeout: 60_000,
      }),
    );
  }
  // Stages follow the version while it is the active one (a later apply takes over).
  if (version.model.activeVersionId === version.id && rows.length > 0) {
    const ids = rows.map((r) => r.contact_id);
    const interest = await journeyInterest(deps, request.workspaceId);
    const stageEvents = await retryOnDeadlock(() =>
      deps.sql.transaction(async (tx) => {
        const moved = await recordStages(tx, request.workspaceId, [model], [], ids, interest);
        // The stage each score row was given is what the ingest path's shortcut compares
        // with: after a rescore it is the contact's stage now, moved or not.
        await tx.query(
          `UPDATE contact_scores s SET stage = c.attributes->>'lifecycleStage'
           FROM contacts c
           WHERE c.id = s.contact_id AND s.version_id = $1 AND s.contact_id = ANY($2::text[])`,
          [model.versionId, ids],
        );
        return moved;
      }),
    );
    await routeStored(deps, stageEvents);
  }
  // Contacts that got their first event during the pass count too.
  const done = request.doneBefore + rows.length;
  await prisma.$executeRawUnsafe(
    `UPDATE scoring_model_versions SET rescore_done = $2, rescore_total = GREATEST(rescore_total, $2)
     WHERE id = $1`,
    request.versionId,
    done,
  );
  return {
    nextCursor: rows.length === request.pageSize ? (rows.at(-1)?.contact_id ?? null) : null,
    rescored: rows.length,
  };
}

export interface LateRescoreStart {
  readonly workspaceId: string;
  readonly versionId: string;
  readonly since: number;
  readonly doneBefore: number;
}

/** Before the second sweep: its contacts join the total. */
export async function beginLateRescore(
  prisma: PrismaClient,
  request: LateRescoreStart,
): Promise<void> {
  const late = await countContactsWithEvents(prisma, request.workspaceId, new Date(request.since));
  await prisma.scoringModelVersion.update({
    where: { id: request.versionId },
    data: { rescoreTotal: request.doneBefore + late },
  });
}

export async function finishRescore(
  prisma: PrismaClient,
  versionId: string,
  status: 'done' | 'failed',
): Promise<void> {
  await prisma.scoringModelVersion.update({
    where: { id: versionId },
    data: { rescoreStatus: status },
  });
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

/** How many contacts of the workspace have events (received from `since` on, when given). */
async function countContactsWithEvents(
  prisma: Prisma.TransactionClient,
  workspaceId: string,
  since: Date | null,
): Promise<number> {
  const [row] = await prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(DISTINCT contact_id)::int AS n FROM events
     WHERE workspace_id = $1 AND contact_id IS NOT NULL AND ($2::timestamp(3) IS NULL OR received_at >= $2::timestamp(3))`,
    workspaceId,
    since,
  );
  return row?.n ?? 0;
}

/** The workspace's contacts with events. */
async function contactsWithEvents(
  prisma: Prisma.TransactionClient,
  workspaceId: string,
): Promise<string[]> {
  const rows = await prisma.$queryRawUnsafe<{ contact_id: string }[]>(
    `SELECT DISTINCT contact_id FROM events
     WHERE workspace_id = $1 AND contact_id IS NOT NULL
     ORDER BY contact_id`,
    workspaceId,
  );
  return rows.map((r) => r.contact_id);
}
