import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { findUser, removeUser, userByRef } from '../engine/tasks/index.js';
import { isUniqueViolation, newId } from '../store/index.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import { flagParam, textParam } from './query-params.js';
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
    const email = body.email.trim().toLowerCase();
    try {
      const user = await engine.prisma.user.create({
        data: { id: newId(), workspaceId, email, name: body.name },
      });
      res.status(201).json(user);
    } catch (error) {
      // Someone who left and comes back is the same user again: their history stays theirs.
      const back = isUniqueViolation(error)
        ? await engine.prisma.user.updateMany({
            where: { workspaceId, email, removedAt: { not: null } },
            data: { removedAt: null, replacedById: null, name: body.name },
          })
        : null;
      if (back && back.count > 0) {
        res.status(201).json(await engine.prisma.user.findFirst({ where: { workspaceId, email } }));
        return;
      }
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
    const removed = flagParam(req.query, 'removed');
    const users = await engine.prisma.user.findMany({
      where: { workspaceId: workspaceOf(req), ...(removed ? {} : { removedAt: null }) },
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

  // A user who left: their open tasks and contacts go to `reassignTo` (a user id or email), or to
  // nobody without it; see engine/tasks/users.ts.
  router.delete('/v1/users/:id', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const user = await userByRef(engine.prisma, workspaceId, req.params.id);
    if (!user) throw notFound(`User ${req.params.id}`);
    const ref = textParam(req.query, 'reassignTo');
    const replacement = ref === null ? null : await findUser(engine.prisma, workspaceId, ref);
    if (ref !== null && (replacement === null || replacement === user.id))
      throw noReplacement(ref, replacement === null ? 'unknown-user' : 'same-user');
    const outcome = await removeUser(engine.prisma, workspaceId, user.id, replacement);
    if (outcome.kind === 'replacement-inactive') throw noReplacement(ref ?? '', 'unknown-user');
    if (outcome.kind === 'removed-already')
      throw new HttpProblem(
        409,
        `${PROBLEM_BASE}conflict`,
        'Already removed',
        `This user was removed before${outcome.replacedById ? `, and ${outcome.replacedById} took over` : ''}; their open tasks and contacts were handed over then.`,
        [
          {
            pointer: '/reassignTo',
            code: 'already-removed',
            detail: 'Reassign what is left with PATCH /v1/tasks/{id} or the contacts API.',
          },
        ],
      );
    const { kind: _kind, ...moved } = outcome;
    const after = await engine.prisma.user.findUnique({ where: { id: user.id } });
    res.json({ ...after, moved });
  });

  return router;
}

function noReplacement(ref: string, code: 'unknown-user' | 'same-user') {
  return invalidInput('The open tasks and contacts cannot go to that user.', [
    {
      pointer: '/reassignTo',
      code,
      message:
        code === 'unknown-user'
          ? `There is no active user "${ref}" in this workspace (by id or email).`
          : 'A user cannot take over from themselves: name another user.',
    },
  ]);
}
