import { Router } from 'express';
import { compileScoringModel, validateScoringModel } from '../definitions/index.js';
import {
  applyScoringVersion,
  contactScores,
  isRecord,
  previewScoringModel,
  publishScoringModel,
  type EngineDeps,
} from '../engine/index.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import { workspaceOf } from './workspace.js';

/** Scoring models (publish, preview, apply with progress) and contacts' explained scores. */
export function scoresRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.post('/v1/scoring-models', async (req, res) => {
    const result = await publishScoringModel(engine, workspaceOf(req), req.body);
    if (!result.ok)
      throw invalidInput('The scoring model has problems; nothing was stored.', result.problems);
    res.status(result.created ? 201 : 200).json({
      id: result.model.key,
      version: result.version.version,
      active: result.model.activeVersionId === result.version.id,
      created: result.created,
      rescore: progressOf(result.version),
    });
  });

  router.post('/v1/scoring-models/preview', async (req, res) => {
    const validated = validateScoringModel(req.body);
    if (!validated.ok) throw invalidInput('The scoring model has problems.', validated.problems);
    res.json(
      await previewScoringModel(engine, workspaceOf(req), compileScoringModel(validated.value)),
    );
  });

  router.get('/v1/scoring-models/:key', async (req, res) => {
    const model = await prisma.scoringModel.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
      include: { versions: { orderBy: { version: 'asc' } } },
    });
    if (!model) throw notFound(`Scoring model \`${req.params.key}\``);
    res.json({
      id: model.key,
      name: model.name,
      activeVersion: model.versions.find((v) => v.id === model.activeVersionId)?.version ?? null,
      versions: model.versions.map((v) => ({
        version: v.version,
        hash: v.hash,
        createdAt: v.createdAt,
        appliedAt: v.appliedAt,
        rescore: progressOf(v),
      })),
      definition: model.versions.at(-1)?.definition ?? null,
    });
  });

  router.post('/v1/scoring-models/:key/versions/:version/apply', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const number = /^\d{1,9}$/.test(req.params.version) ? Number(req.params.version) : null;
    const version =
      number === null
        ? null
        : await prisma.scoringModelVersion.findFirst({
            where: {
              version: number,
              model: { workspaceId, key: req.params.key },
            },
          });
    if (!version)
      throw notFound(`Version ${req.params.version} of scoring model \`${req.params.key}\``);
    // One rescore per version at a time: a second apply (a double click) would run beside the
    // first, each overwriting the other's progress, the first to end marking it done.
    const claimed = await prisma.scoringModelVersion.updateMany({
      where: { id: version.id, rescoreStatus: { not: 'running' } },
      data: { rescoreStatus: 'running' },
    });
    if (claimed.count === 0 && !(await rescoreLost(engine, version)))
      throw new HttpProblem(
        409,
        `${PROBLEM_BASE}conflict`,
        'Being applied',
        `Version ${version.version} of this scoring model is being applied; follow its rescore on GET /v1/scoring-models/${req.params.key}.`,
      );
    const applied = await applyScoringVersion(engine, workspaceId, version.id).catch(
      async (error: unknown) => {
        // Not started: the version may be applied again.
        await prisma.scoringModelVersion.updateMany({
          where: { id: version.id, rescoreStatus: 'running' },
          data: { rescoreStatus: 'failed' },
        });
        throw error;
      },
    );
    res
      .status(202)
      .json({ id: req.params.key, version: version.version, rescore: progressOf(applied.version) });
  });

  router.get('/v1/contacts/:idOrUserId/score', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const contact = await prisma.contact.findFirst({
      where: { workspaceId, OR: [{ id: key }, { userId: key }] },
      select: { id: true, attributes: true },
    });
    if (!contact) throw notFound(`Contact \`${key}\``);
    res.json({
      contactId: contact.id,
      scores: await contactScores(engine, workspaceId, contact.id),
      // Points journeys gave by hand (adjustScore): conditions read `score.<name>` as the first
      // active model's value plus these, so the numbers a journey acts on can be added up here.
      adjustments: adjustmentsOf(contact.attributes),
      // Each of them: which journey step gave how many points, when, and why.
      adjustmentLog: await adjustmentLog(engine, contact.id),
    });
  });

  return router;
}

function progressOf(v: { rescoreStatus: string; rescoreTotal: number; rescoreDone: number }) {
  return { status: v.rescoreStatus, total: v.rescoreTotal, done: v.rescoreDone };
}

function adjustmentsOf(attributes: unknown): Record<string, number> {
  const scores = isRecord(attributes) && isRecord(attributes.scores) ? attributes.scores : {};
  return Object.fromEntries(
    Object.entries(scores).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}

/** The newest adjustments shown with a contact's score. */
const ADJUSTMENT_LOG_LIMIT = 100;

/**
 * The contact's `adjustScore` steps, newest first: score, points, the step's reason, the
 * score's total after it, when, and the journey, step and enrollment that gave them. Steps from
 * before the record kept these show their journey, step and time only.
 */
async function adjustmentLog(engine: EngineDeps, contactId: string) {
  const rows = await engine.sql.query<{
    result: unknown;
    at: Date;
    journey: string;
    step_id: string;
    enrollment_id: string;
  }>(
    `SELECT f.result, f.created_at AS at, j.key AS journey, f.step_id, f.enrollment_id
     FROM side_effects f
     JOIN enrollments n ON n.id = f.enrollment_id
     JOIN journey_versions v ON v.id = n.journey_version_id
     JOIN journeys j ON j.id = v.journey_id
     WHERE n.contact_id = $1 AND f.kind = 'adjustScore' AND f.status = 'done'
     ORDER BY f.created_at DESC, f.key DESC
     LIMIT $2`,
    [contactId, ADJUSTMENT_LOG_LIMIT],
  );
  return rows.map((r) => {
    const result = isRecord(r.result) ? r.result : {};
    return {
      score: typeof result.score === 'string' ? result.score : null,
      points: typeof result.points === 'number' ? result.points : null,
      reason: typeof result.reason === 'string' ? result.reason : null,
      total: typeof result.total === 'number' ? result.total : null,
      at: new Date(r.at).toISOString(),
      journey: r.journey,
      step: r.step_id,
      enrollmentId: r.enrollment_id,
    };
  });
}

/** How long after an apply its rescore may not show in Temporal's lists yet. */
const LISTED_WITHIN_MS = 60_000;

/**
 * Whether a version marked `running` has no rescore running any more (it was terminated, or
 * the applying process stopped before starting it), so applying it again may take over. A
 * fresh apply counts as running: its workflow may not be listed yet.
 */
async function rescoreLost(
  engine: EngineDeps,
  version: { readonly id: string; readonly appliedAt: Date | null },
): Promise<boolean> {
  if (version.appliedAt && Date.now() - version.appliedAt.getTime() < LISTED_WITHIN_MS)
    return false;
  try {
    const running = engine.temporal.workflow.list({
      query: `WorkflowType = 'rescoreWorkflow' AND ExecutionStatus = 'Running'`,
    });
    for await (const run of running)
      if (run.workflowId.startsWith(`rescore/${version.id}/`)) return false;
    return true;
  } catch {
    return false; // cannot tell: as running
  }
}
