import { Router } from 'express';
import { contactView } from '../activities/index.js';
import type { EngineDeps } from '../engine/index.js';
import { notFound } from './problem.js';
import { workspaceOf } from './workspace.js';

/** Contacts by id or by `userId`, with their enrollments. */
export function contactsRouter(engine: EngineDeps): Router {
  const router = Router();

  router.get('/v1/contacts/:idOrUserId', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const key = req.params.idOrUserId;
    const contact = await engine.prisma.contact.findFirst({
      where: { workspaceId, OR: [{ id: key }, { userId: key }] },
      include: {
        enrollments: {
          orderBy: { startedAt: 'asc' },
          include: { journeyVersion: { include: { journey: true } } },
        },
      },
    });
    if (!contact) throw notFound(`Contact \`${key}\``);
    res.json({
      ...contactView(contact),
      createdAt: contact.createdAt,
      updatedAt: contact.updatedAt,
      enrollments: contact.enrollments.map((e) => ({
        id: e.id,
        journey: e.journeyVersion.journey.key,
        version: e.journeyVersion.version,
        status: e.status,
        currentStep: e.currentStep,
      })),
    });
  });

  return router;
}
