import type { Prisma } from '@prisma/client';
import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { EngineDeps } from '../engine/index.js';
import { findUser, holdActiveUsers } from '../engine/tasks/index.js';
import { isUniqueViolation, newId } from '../store/index.js';
import { HttpProblem, invalidInput, notFound, PROBLEM_BASE } from './problem.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const Members = Type.Array(Type.String({ minLength: 1, description: 'A user id or email.' }), {
  maxItems: 500,
  description: 'In round-robin order.',
});
const NewTeam = Type.Object(
  {
    key: Type.String({
      pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
      description: 'What journeys name in `team`.',
    }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    lead: Type.Optional(Type.String({ description: 'A user id or email: who escalations go to.' })),
    members: Members,
  },
  { additionalProperties: false },
);
const readTeam = bodyValidator(NewTeam);
const readMembers = bodyValidator(
  Type.Object({ members: Members }, { additionalProperties: false }),
);

/** Teams of users, for round-robin and least-loaded task assignment. */
export function teamsRouter(engine: EngineDeps): Router {
  const router = Router();

  router.post('/v1/teams', async (req, res) => {
    const body = readTeam(req.body);
    const workspaceId = workspaceOf(req);
    const members = await resolveUsers(engine, workspaceId, body.members);
    const lead = body.lead
      ? (await resolveUsers(engine, workspaceId, [body.lead], '/lead'))[0]
      : undefined;
    try {
      const team = await engine.prisma.$transaction(async (tx) => {
        await holdUsers(tx, workspaceId, [...members, ...(lead ? [lead] : [])]);
        return tx.team.create({
          data: {
            id: newId(),
            workspaceId,
            key: body.key,
            name: body.name,
            leadUserId: lead ?? null,
            members: { create: members.map((userId, position) => ({ userId, position })) },
          },
          include: { members: { orderBy: { position: 'asc' } } },
        });
      });
      res.status(201).json(team);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new HttpProblem(
          409,
          `${PROBLEM_BASE}conflict`,
          'Already exists',
          `A team with the key ${body.key} already exists.`,
          [{ pointer: '/key', code: 'duplicate', detail: 'Another team has this key.' }],
        );
      throw error;
    }
  });

  router.get('/v1/teams', async (req, res) => {
    const teams = await engine.prisma.team.findMany({
      where: { workspaceId: workspaceOf(req) },
      include: { members: { orderBy: { position: 'asc' } } },
      orderBy: { key: 'asc' },
    });
    res.json({ data: teams });
  });

  router.put('/v1/teams/:key/members', async (req, res) => {
    const body = readMembers(req.body);
    const workspaceId = workspaceOf(req);
    const team = await engine.prisma.team.findFirst({
      where: { workspaceId, key: req.params.key },
    });
    if (!team) throw notFound(`Team ${req.params.key}`);
    const members = await resolveUsers(engine, workspaceId, body.members);
    await engine.prisma.$transaction(async (tx) => {
      await holdUsers(tx, workspaceId, members);
      await tx.teamMember.deleteMany({ where: { teamId: team.id } });
      await tx.teamMember.createMany({
        data: members.map((userId, position) => ({ teamId: team.id, userId, position })),
      });
    });
    res.json(
      await engine.prisma.team.findUnique({
        where: { id: team.id },
        include: { members: { orderBy: { position: 'asc' } } },
      }),
    );
  });

  return router;
}

/**
 * Holds the team's users until it is written, as task assignment does: a removal of one waits,
 * then takes them off the team; one that came first is a 422.
 */
async function holdUsers(
  tx: Prisma.TransactionClient,
  workspaceId: string,
  ids: readonly string[],
): Promise<void> {
  const gone = await holdActiveUsers(tx, workspaceId, ids);
  if (gone.length > 0)
    throw invalidInput(
      'Some users were removed from this workspace.',
      gone.map((id) => ({
        pointer: '/members',
        code: 'removed-user',
        message: `The user "${id}" was removed from this workspace; name active users.`,
      })),
    );
}

async function resolveUsers(
  engine: EngineDeps,
  workspaceId: string,
  refs: readonly string[],
  pointer = '/members',
): Promise<string[]> {
  const ids: string[] = [];
  const problems: { pointer: string; code: string; message: string }[] = [];
  for (const [i, ref] of refs.entries()) {
    const id = await findUser(engine.prisma, workspaceId, ref);
    if (id) ids.push(id);
    else
      problems.push({
        pointer: pointer === '/members' ? `/members/${i}` : pointer,
        code: 'unknown-user',
        message: `There is no user "${ref}"; create it with POST /v1/users first.`,
      });
  }
  if (problems.length > 0) throw invalidInput('Some users do not exist.', problems);
  return [...new Set(ids)];
}
