import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskActivity } from '../../activities/create-task.activity.js';
import type { Mailer } from '../../mail/index.js';
import { activityDeps, createMailer, seed, startCapture, type Capture } from '../mail/support.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

interface Task {
  id: string;
  assigneeId: string | null;
  status: string;
  contactId: string | null;
}

/**
 * Tasks for sales reps: round-robin spreads evenly even when assignments race, the assignee
 * is emailed, and completing a task through the API is a `task_completed` event that a
 * journey waiting for it receives.
 */
describe.each(databaseVariants())('tasks (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let capture: Capture;
  let mailer: Mailer;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
    capture = await startCapture();
    mailer = createMailer(capture.url);
  });
  afterAll(async () => {
    mailer?.close();
    await capture?.stop();
    await engine?.cleanup();
  });

  async function team(
    size: number,
  ): Promise<{ key: string; users: { id: string; email: string }[] }> {
    const suffix = uniqueSuffix();
    const users: { id: string; email: string }[] = [];
    for (let i = 0; i < size; i++) {
      const res = await api.post('/v1/users', {
        email: `rep${i}.${suffix}@example.com`,
        name: `Rep ${i}`,
      });
      expect(res.status).toBe(201);
      users.push(res.body as { id: string; email: string });
    }
    const key = `sales-${suffix}`;
    const created = await api.post('/v1/teams', {
      key,
      name: 'Sales',
      members: users.map((u) => u.email),
    });
    expect(created.status).toBe(201);
    return { key, users };
  }

  it('round-robin gives 6 leads to 3 reps 2 each, even when the assignments race', async () => {
    const { key, users } = await team(3);
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.post('/v1/tasks', { title: `Lead ${i}`, assignee: { type: 'roundRobin', team: key } }),
      ),
    );
    const counts = new Map<string, number>();
    for (const res of created) {
      expect(res.status).toBe(201);
      const assignee = (res.body as Task).assigneeId ?? 'none';
      counts.set(assignee, (counts.get(assignee) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(users.map((u) => [u.id, 2])));
  });

  it('least-loaded picks the rep with the fewest open tasks; a named user gets the task', async () => {
    const { key, users } = await team(2);
    const [busy, free] = users;
    await api.post('/v1/tasks', { title: 'A', assignee: { type: 'user', user: busy?.email } });
    await api.post('/v1/tasks', { title: 'B', assignee: { type: 'user', user: busy?.id } });
    const res = await api.post('/v1/tasks', {
      title: 'C',
      assignee: { type: 'leastLoaded', team: key },
    });
    expect((res.body as Task).assigneeId).toBe(free?.id);
    const listed = await api.get(
      `/v1/tasks?assignee=${encodeURIComponent(busy?.email ?? '')}&status=open`,
    );
    expect((listed.body as { data: Task[] }).data).toHaveLength(2);
  });

  it('a journey task is created once per step, emailed to the assignee, and its completion is an event', async () => {
    const { key, users } = await team(1);
    const deps = activityDeps(engine, mailer);
    const s = await seed(engine.deps.prisma, { email: `lead.${uniqueSuffix()}@example.com` });
    const enrollmentId = await s.enrollment();
    const input = {
      workspaceId: s.workspaceId,
      enrollmentId,
      contactId: s.contactId,
      stepId: 'follow-up',
      iteration: 1,
      trigger: { name: null, properties: {} },
      action: {
        type: 'createTask' as const,
        title: 'Call {{contact.firstName}}',
        description: null,
        assignee: { type: 'roundRobin' as const, team: key },
        dueInMs: 86_400_000,
        priority: 'high' as const,
      },
    };
    // The seeded contact lives in its own workspace; the team is in the default one, so
    // create the team's twin there for this activity call.
    const rep = users[0];
    await engine.deps.prisma.user.create({
      data: {
        id: `${rep?.id ?? ''}-w`,
        workspaceId: s.workspaceId,
        email: rep?.email ?? '',
        name: 'Rep',
      },
    });
    await engine.deps.prisma.team.create({
      data: {
        id: `t-${enrollmentId}`,
        workspaceId: s.workspaceId,
        key,
        name: 'Sales',
        members: { create: [{ userId: `${rep?.id ?? ''}-w`, position: 0 }] },
      },
    });
    const first = await createTaskActivity(deps, input);
    const again = await createTaskActivity(deps, input);
    expect(again).toEqual(first);
    const task = await engine.deps.prisma.task.findUniqueOrThrow({ where: { id: first.taskId } });
    expect(task).toMatchObject({
      title: 'Call Ada',
      priority: 'high',
      status: 'open',
      assigneeId: `${rep?.id ?? ''}-w`,
    });
    const [notice, ...extra] = await capture.waitFor(rep?.email ?? '');
    expect(extra).toHaveLength(0);
    expect(notice?.parsed.subject).toBe('New task: Call Ada');

    const { completeTask } = await import('../../engine/tasks/index.js');
    await completeTask(engine.deps, s.workspaceId, task.id, null);
    const events = await engine.deps.prisma.event.findMany({
      where: { contactId: s.contactId, name: 'task_completed' },
    });
    expect(events).toMatchObject([
      { properties: { taskId: task.id, enrollmentId, stepId: 'follow-up' } },
    ]);
    expect(events[0]?.routedAt).not.toBeNull();
  });

  it('publishing a journey that assigns to a team or user the workspace lacks is refused, and stores nothing, until they exist', async () => {
    const suffix = uniqueSuffix();
    const teamKey = `sales-emea-${suffix}`;
    const repEmail = `closer.${suffix}@example.com`;
    const definition = {
      id: `emea-${suffix}`,
      name: 'EMEA follow-up',
      triggers: [{ type: 'event', event: `mql_${suffix}` }],
      steps: [
        { id: 'welcome', type: 'sendEmail', template: 'welcome' },
        {
          id: 'follow-up',
          type: 'createTask',
          title: 'Call {{contact.firstName}}',
          assignee: { type: 'roundRobin', team: teamKey },
        },
        {
          id: 'close',
          type: 'createTask',
          title: 'Close',
          assignee: { type: 'user', user: repEmail.toUpperCase() },
        },
      ],
    };
    const refused = await api.post('/v1/journeys', definition);
    expect(refused.status).toBe(422);
    expect(refused.contentType).toContain('application/problem+json');
    expect((refused.body as { errors: unknown[] }).errors).toEqual([
      {
        pointer: '/steps/1/assignee/team',
        code: 'unknown-team',
        detail: `Step \`follow-up\` assigns its task to the team \`${teamKey}\`, which does not exist in this workspace.`,
      },
      {
        pointer: '/steps/2/assignee/user',
        code: 'unknown-user',
        detail: `Step \`close\` assigns its task to the user \`${repEmail.toUpperCase()}\`, who does not exist in this workspace.`,
      },
    ]);
    const draft = await api.post('/v1/journeys?draft=true', definition);
    expect(draft.status).toBe(422);
    expect(await engine.deps.prisma.journey.count({ where: { key: definition.id } })).toBe(0);
    // Plain validation knows no workspace, so it still accepts the definition.
    expect((await api.post('/v1/journeys/validate', definition)).status).toBe(200);

    const rep = await api.post('/v1/users', { email: repEmail, name: 'Closer' });
    expect(rep.status).toBe(201);
    const team = await api.post('/v1/teams', {
      key: teamKey,
      name: 'Sales EMEA',
      members: [repEmail],
    });
    expect(team.status).toBe(201);
    const published = await api.post('/v1/journeys', definition);
    expect(published.status).toBe(201);
    // A team may also be named by its id, as assignment resolves it.
    const byId = await api.post('/v1/journeys', {
      ...definition,
      steps: definition.steps.map((step) =>
        step.id === 'follow-up'
          ? { ...step, assignee: { type: 'leastLoaded', team: (team.body as { id: string }).id } }
          : step,
      ),
    });
    expect(byId.status).toBe(201);
    expect((byId.body as { version: number }).version).toBe(2);
  });

  it('a journey waiting for task_completed moves on when the rep completes the task through the API', async () => {
    const { key, users } = await team(1);
    const suffix = uniqueSuffix();
    const event = `mql_${suffix}`;
    const published = await api.post('/v1/journeys', {
      id: `handoff-${suffix}`,
      name: 'Hand-off',
      triggers: [{ type: 'event', event }],
      steps: [
        {
          id: 'task',
          type: 'createTask',
          title: 'Call {{contact.firstName}}',
          assignee: { type: 'roundRobin', team: key },
          due: 'PT24H',
        },
        {
          id: 'done',
          type: 'waitForEvent',
          event: 'task_completed',
          timeout: 'PT24H',
          onTimeout: 'escalate',
          next: 'thanks',
        },
        { id: 'thanks', type: 'sendEmail', template: 'welcome' },
        { id: 'escalate', type: 'exit', reason: 'not done in time' },
      ],
    });
    expect(published.status).toBe(201);
    const email = `hopper.${suffix}@example.com`;
    await api.post('/v1/identify', {
      userId: `u-${suffix}`,
      traits: { email, firstName: 'Grace' },
    });
    await api.post('/v1/track', { userId: `u-${suffix}`, event });
    const task = await eventually(async () => {
      const res = await api.get(`/v1/tasks?assignee=${encodeURIComponent(users[0]?.email ?? '')}`);
      return (res.body as { data: Task[] }).data[0];
    });
    // A rep completes it once the journey is waiting for it (an event that arrives while the
    // task is still being created, before the wait step, is not what this test is about).
    const enrollment = await engine.deps.prisma.enrollment.findFirstOrThrow({
      where: { contactId: task.contactId ?? '' },
    });
    const handle = engine.deps.temporal.workflow.getHandle(enrollment.id);
    await eventually(async () =>
      JSON.stringify(await handle.query<unknown>('drumbeat.state')).includes('"stepId":"done"'),
    );
    const completed = await api.post(`/v1/tasks/${task.id}/complete`, {});
    expect(completed.status).toBe(200);
    expect((completed.body as Task).status).toBe('done');
    const mail = await waitForMail(api, email);
    expect(mail).toHaveLength(1);
  });
  it('records who completed a task as a user of the workspace, and refuses anyone else', async () => {
    const { users } = await team(1);
    const rep = users[0];
    const suffix = uniqueSuffix();
    await api.post('/v1/identify', {
      userId: `done-${suffix}`,
      traits: { email: `done.${suffix}@example.com` },
    });
    const contact = (await api.get(`/v1/contacts/done-${suffix}`)).body as { id: string };
    const task = (await api.post('/v1/tasks', { title: 'Call back', contactId: contact.id }))
      .body as Task;
    const stranger = await api.post(`/v1/tasks/${task.id}/complete`, { by: 'nobody@example.com' });
    expect(stranger.status).toBe(422);
    expect(stranger.body).toMatchObject({ errors: [{ pointer: '/by', code: 'unknown-user' }] });
    expect(((await api.get(`/v1/tasks/${task.id}`)).body as Task).status).toBe('open');

    const done = await api.post(`/v1/tasks/${task.id}/complete`, { by: rep?.email });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const event = await engine.deps.prisma.event.findFirstOrThrow({
      where: { contactId: contact.id, name: 'task_completed' },
    });
    expect(event.properties).toMatchObject({ taskId: task.id, completedBy: rep?.id });
  });
});
