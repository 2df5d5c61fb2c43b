import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { isUniqueViolation, newId } from '../store/index.js';
import { HttpProblem, notFound, PROBLEM_BASE } from './problem.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const NewUser = Type.Object(
  {
    email: Type.String({
      format: 'email',
      maxLength: 320,
      description: 'Where task notifications go.',
    }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
const readUser = bodyValidator(NewUser);

/** Users (sales reps and others who get tasks). */
export function usersRouter(engine: EngineDeps): Router {
  const router = Router();

  router.post('/v1/users', async (req, res) => {
    const body = readUser(req.body);
    const workspaceId = workspaceOf(req);
    try {
      const user = await engine.prisma.user.create({
        data: { id: newId(), workspaceId, email: body.email.trim().toLowerCase(), name: body.name },
      });
      res.status(201).json(user);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}conflict`,
          'Already exists',
          `A user with the email ${body.email} already exists.`,
          [
            {
              pointer: '/email',
              code: 'duplicate',
              detail: 'Another user has this email address.',
            },
          ],
        );
      throw error;
    }
  });

  router.get('/v1/users', async (req, res) => {
    const users = await engine.prisma.user.findMany({
      where: { workspaceId: workspaceOf(req) },
      orderBy: { createdAt: 'asc' },
    });
    res.json({ data: users });
  });

  router.get('/v1/users/:id', async (req, res) => {
    const user = await engine.prisma.user.findFirst({
      where: { workspaceId: workspaceOf(req), id: req.params.id },
      include: { memberships: { select: { teamId: true } } },
    });
    if (!user) throw notFound(`User ${req.params.id}`);
    const open = await engine.prisma.task.count({ where: { assigneeId: user.id, status: 'open' } });
    res.json({ ...user, openTasks: open });
  });

  return router;
}
