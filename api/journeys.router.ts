import { Router } from 'express';
import { journeyJsonSchema, validateJourney, compileJourney } from '../definitions/index.js';
import { publishJourney, type EngineDeps } from '../engine/index.js';
import { invalidInput, notFound } from './problem.js';
import { workspaceOf } from './workspace.js';

/** Journey definitions: validate, publish (a new immutable version when changed), read. */
export function journeysRouter(engine: EngineDeps): Router {
  const router = Router();
  const { prisma } = engine;

  router.get('/v1/schemas/journey.json', (_req, res) => {
    res.type('application/schema+json').json(journeyJsonSchema());
  });

  router.post('/v1/journeys/validate', (req, res) => {
    const result = validateJourney(req.body, {
      templateExists: (name) => engine.templates.has(name),
    });
    if (!result.ok)
      throw invalidInput(
        'The journey definition has problems; nothing was stored.',
        result.problems,
      );
    res.json({ valid: true, plan: compileJourney(result.value) });
  });

  router.post('/v1/journeys', async (req, res) => {
    const result = await publishJourney(engine, workspaceOf(req), req.body);
    if (!result.ok)
      throw invalidInput(
        'The journey definition has problems; nothing was stored.',
        result.problems,
      );
    res.status(result.created ? 201 : 200).json({
      id: result.journey.key,
      name: result.journey.name,
      status: result.journey.status,
      version: result.version.version,
      hash: result.version.hash,
      created: result.created,
    });
  });

  router.get('/v1/journeys', async (req, res) => {
    const journeys = await prisma.journey.findMany({
      where: { workspaceId: workspaceOf(req) },
      include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
      orderBy: { createdAt: 'asc' },
    });
    res.json({
      data: journeys.map((j) => ({
        id: j.key,
        name: j.name,
        status: j.status,
        version: j.versions[0]?.version ?? null,
      })),
    });
  });

  router.get('/v1/journeys/:key', async (req, res) => {
    const journey = await prisma.journey.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
      include: { versions: { orderBy: { version: 'desc' } } },
    });
    if (!journey) throw notFound(`Journey \`${req.params.key}\``);
    const counts = await prisma.enrollment.groupBy({
      by: ['journeyVersionId', 'status'],
      where: { journeyVersionId: { in: journey.versions.map((v) => v.id) } },
      _count: { _all: true },
    });
    res.json({
      id: journey.key,
      name: journey.name,
      status: journey.status,
      versions: journey.versions.map((v) => ({
        version: v.version,
        hash: v.hash,
        publishedAt: v.publishedAt,
        enrollments: Object.fromEntries(
          counts.filter((c) => c.journeyVersionId === v.id).map((c) => [c.status, c._count._all]),
        ),
      })),
      definition: journey.versions[0]?.definition ?? null,
    });
  });

  router.get('/v1/journeys/:key/enrollments', async (req, res) => {
    const journey = await prisma.journey.findUnique({
      where: { workspaceId_key: { workspaceId: workspaceOf(req), key: req.params.key } },
    });
    if (!journey) throw notFound(`Journey \`${req.params.key}\``);
    const enrollments = await prisma.enrollment.findMany({
      where: { journeyVersion: { journeyId: journey.id } },
      include: {
        journeyVersion: { select: { version: true } },
        contact: { select: { userId: true, email: true } },
      },
      orderBy: { startedAt: 'asc' },
      take: 500,
    });
    res.json({
      data: enrollments.map((e) => ({
        id: e.id,
        version: e.journeyVersion.version,
        contact: { id: e.contactId, userId: e.contact.userId, email: e.contact.email },
        status: e.status,
        currentStep: e.currentStep,
        startedAt: e.startedAt,
        endedAt: e.endedAt,
      })),
    });
  });

  return router;
}
