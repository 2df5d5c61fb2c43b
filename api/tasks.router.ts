import type { Prisma } from '@prisma/client';
import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { TaskAssignee } from '../core/index.js';
import { storableTime } from '../definitions/index.js';
import type { EngineDeps } from '../engine/index.js';
import { ownerRefOf } from '../engine/contacts/owner.js';
import {
  completeTask,
  createTask,
  stillActive,
  userByRef,
  missingAssignee,
  type MissingAssignee,
} from '../engine/tasks/index.js';
import { pageOf, pageResult, type Page } from './paging.js';
import { invalidInput, notFound, type HttpProblem } from './problem.js';
import { choiceParam, textParam } from './query-params.js';
import { bodyValidator } from './validate-body.js';
import { workspaceOf } from './workspace.js';

const Priority = Type.Union(
  [Type.Literal('low'), Type.Literal('normal'), Type.Literal('high'), Type.Literal('urgent')],
  { description: 'How urgent the task is.' },
);
const Assignee = Type.Union([
  Type.Object(
    { type: Type.Literal('user'), user: Type.String({ minLength: 1 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('roundRobin'), team: Type.String({ minLength: 1 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('leastLoaded'), team: Type.String({ minLength: 1 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('owner'), fallbackTeam: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
]);
const NewTask = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 300 }),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    contactId: Type.Optional(Type.String({ minLength: 1 })),
    assignee: Type.Optional(Assignee),
    dueAt: Type.Optional(Type.String({ format: 'date-time' })),
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);
const TaskUpdate = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()])),
    assignee: Type.Optional(
      Type.Union([Type.String({ minLength: 1, description: 'A user id or email.' }), Type.Null()]),
    ),
    dueAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    priority: Type.Optional(Priority),
    status: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('cancelled')], {
        description: 'Use POST /v1/tasks/{id}/complete to complete a task.',
      }),
    ),
  },
  { additionalProperties: false },
);
const readNew = bodyValidator(NewTask);
const readUpdate = bodyValidator(TaskUpdate);
const readComplete = bodyValidator(
  Type.Object(
    { by: Type.Optional(Type.String({ description: 'Who completed it (user id or email).' })) },
    { additionalProperties: false },
  ),
);

/**
 * Tasks for sales reps: list by assignee, status and due date (paged); create; update;
 * complete. Completing records the `task_completed` event, so a journey waiting for it moves on.
 */
export function tasksRouter(engine: EngineDeps): Router {
  const router = Router();

  router.get('/v1/tasks', async (req, res) => {
    const workspaceId = workspaceOf(req);
    const q = req.query;
    const where: Prisma.TaskWhereInput = { workspaceId };
    const assignee = textParam(q, 'assignee');
    if (assignee !== null)
      where.assigneeId = (await userByRef(engine.prisma, workspaceId, assignee))?.id ?? '-';
    const status = choiceParam(q, 'status', TASK_STATUSES);
    if (status !== null) where.status = status;
    const contactId = textParam(q, 'contactId');
    if (contactId !== null) where.contactId = contactId;
    const dueBefore = dateParam(textParam(q, 'dueBefore'), 'dueBefore');
    const dueAfter = dateParam(textParam(q, 'dueAfter'), 'dueAfter');
    if (dueBefore || dueAfter)
      where.dueAt = {
        ...(dueBefore ? { lte: dueBefore } : {}),
        ...(dueAfter ? { gte: dueAfter } : {}),
      };
    const page = pageOf(req);
    const tasks = await engine.prisma.task.findMany({
      where: { AND: [where, await after(engine, workspaceId, page)] },
      orderBy: [{ dueAt: { sort: 'asc', nulls: 'last' } }, { createdAt: 'asc' }, { id: 'asc' }],
      take: page.limit + 1,
    });
    res.json(pageResult(tasks, page, (task) => task));
  });

  router.post('/v1/tasks', async (req, res) => {
    const body = readNew(req.body);
    const workspaceId = workspaceOf(req);
    const assignee: TaskAssignee | null = body.assignee
      ? body.assignee.type === 'owner'
        ? { type: 'owner', fallbackTeam: body.assignee.fallbackTeam ?? null }
        : body.assignee
      : null;
    const contact = body.contactId
      ? await engine.prisma.contact.findFirst({ where: { workspaceId, id: body.contactId } })
      : null;
    if (body.contactId && !contact)
      throw invalidInput('The contact does not exist.', [
        {
          pointer: '/contactId',
          code: 'unknown-contact',
          message: `There is no contact ${body.contactId}.`,
        },
      ]);
    const missing = assignee ? await missingAssignee(engine.prisma, workspaceId, assignee) : null;
    if (missing) throw unknownAssignee(missing);
    const { task } = await createTask(engine.prisma, {
      workspaceId,
      key: null,
      title: body.title,
      description: body.description ?? null,
      contactId: contact?.id ?? null,
      assignee,
      ownerRef: contact ? ownerRefOf(contact) : null,
      dueAt: body.dueAt ? new Date(body.dueAt) : null,
      priority: body.priority ?? 'normal',
      enrollmentId: null,
      stepId: null,
    });
    res.status(201).json(task);
  });

  router.get('/v1/tasks/:id', async (req, res) => {
    const task = await engine.prisma.task.findFirst({
      where: { workspaceId: workspaceOf(req), id: req.params.id },
    });
    if (!task) throw notFound(`Task ${req.params.id}`);
    res.json(task);
  });

  router.patch('/v1/tasks/:id', async (req, res) => {
    const body = readUpdate(req.body);
    const workspaceId = workspaceOf(req);
    const task = await engine.prisma.task.findFirst({ where: { workspaceId, id: req.params.id } });
    if (!task) throw notFound(`Task ${req.params.id}`);
    const assigneeId =
      body.assignee === undefined
        ? undefined
        : await knownUser(engine, workspaceId, body.assignee, '/assignee', 'The assignee');
    const updated = await engine.prisma.$transaction(async (tx) => {
      // The assignee is held until the task is written: a removal of them waits, then hands
      // the task over with their others; one that came first is a 422 here.
      if (assigneeId && !(await stillActive(tx, workspaceId, assigneeId)))
        throw removedUser('The assignee', '/assignee', body.assignee ?? assigneeId);
      return tx.task.update({
        where: { id: task.id },
        data: {
          ...(body.title === undefined ? {} : { title: body.title }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(assigneeId === undefined ? {} : { assigneeId }),
          ...(body.dueAt === undefined
            ? {}
            : { dueAt: body.dueAt === null ? null : new Date(body.dueAt) }),
          ...(body.priority === undefined ? {} : { priority: body.priority }),
          ...(body.status === undefined ? {} : { status: body.status }),
        },
      });
    });
    res.json(updated);
  });

  router.post('/v1/tasks/:id/complete', async (req, res) => {
    const raw: unknown = req.body;
    const { by } = raw === undefined ? {} : readComplete(raw);
    const workspaceId = workspaceOf(req);
    // Who completed it is recorded as the user's id (like `assigneeId`): journeys branch on it.
    const byId = await knownUser(
      engine,
      workspaceId,
      by ?? null,
      '/by',
      'The user who completed the task',
    );
    const task = await completeTask(engine, workspaceId, req.params.id, byId);
    if (!task) throw notFound(`Task ${req.params.id}`);
    res.json(task);
  });

  return router;
}

/**
 * The id of the workspace's user `ref` names (an id or an email); null for null. A name that is
 * no user of the workspace is a 422 at `pointer`.
 */
async function knownUser(
  engine: EngineDeps,
  workspaceId: string,
  ref: string | null,
  pointer: string,
  who: string,
): Promise<string | null> {
  if (ref === null) return null;
  const user = await userByRef(engine.prisma, workspaceId, ref);
  if (user?.removedAt) throw removedUser(who, pointer, ref);
  const id = user?.id ?? null;
  if (id === null)
    throw invalidInput(`${who} does not exist.`, [
      {
        pointer,
        code: 'unknown-user',
        message: `There is no user "${ref}" in this workspace (by id or email).`,
      },
    ]);
  return id;
}

/** What `status` takes: a task's statuses. */
const TASK_STATUSES = ['open', 'done', 'cancelled'] as const;

function dateParam(value: string | null, name: string): Date | null {
  if (value === null) return null;
  const date = new Date(value);
  if (!storableTime(date.getTime()))
    throw invalidInput(`${name} is not a date.`, [
      {
        pointer: `/${name}`,
        code: 'invalid-date',
        message: `The ${name} parameter must be an ISO 8601 date-time in the years 1 to 9999.`,
      },
    ]);
  return date;
}

/**
 * The tasks that come after the cursor's task in the list's order (due date, nulls last, then
 * creation, then id), so paging keeps the order by due date. The cursor is the last task's id,
 * as on every list; its position is read now, so if that task's due date changed since, the
 * next page starts from where it is now.
 */
async function after(
  engine: EngineDeps,
  workspaceId: string,
  page: Page,
): Promise<Prisma.TaskWhereInput> {
  if (page.after === null) return {};
  const last = await engine.prisma.task.findFirst({
    where: { workspaceId, id: page.after },
    select: { id: true, dueAt: true, createdAt: true },
  });
  if (!last)
    throw invalidInput('The paging parameters have problems.', [
      {
        pointer: '/cursor',
        code: 'bad-format',
        message: '`cursor` must be a `nextCursor` from a previous page.',
      },
    ]);
  const later: Prisma.TaskWhereInput = {
    OR: [{ createdAt: { gt: last.createdAt } }, { createdAt: last.createdAt, id: { gt: last.id } }],
  };
  return last.dueAt === null
    ? { dueAt: null, ...later }
    : {
        OR: [{ dueAt: { gt: last.dueAt } }, { dueAt: null }, { dueAt: last.dueAt, ...later }],
      };
}

function unknownAssignee(missing: MissingAssignee): HttpProblem {
  const detail =
    missing.kind === 'user'
      ? `The task is assigned to the user \`${missing.ref}\`, who does not exist in this workspace.`
      : `The task is assigned to the team \`${missing.ref}\`, which does not exist in this workspace.`;
  return invalidInput('The assignee does not exist.', [
    { pointer: `/assignee/${missing.field}`, code: `unknown-${missing.kind}`, message: detail },
  ]);
}

function removedUser(who: string, pointer: string, ref: string) {
  return invalidInput(`${who} was removed from this workspace.`, [
    {
      pointer,
      code: 'removed-user',
      message: `The user "${ref}" was removed from this workspace; name an active user.`,
    },
  ]);
}
