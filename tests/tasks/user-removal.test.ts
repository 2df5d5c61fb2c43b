import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskActivity } from '../../activities/create-task.activity.js';
import type { Mailer } from '../../mail/index.js';
import { clientWith, createWorkspace } from '../api/workspaces.js';
import { activityDeps, createMailer, seed, startCapture, type Capture } from '../mail/support.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface User {
  id: string;
  email: string;
  removedAt: string | null;
  replacedById: string | null;
}

interface Task {
  id: string;
  assigneeId: string | null;
  status: string;
}

/**
 * A user who leaves is removed, not deleted: in one request their open tasks and contacts go to
 * the colleague who takes over, they leave their teams, journeys already running that name them
 * assign to that colleague, and nothing of their history is lost. Bad input changes nothing.
 */
describe.each(databaseVariants())('removing a user (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let workspaceId: string;
  let capture: Capture;
  let mailer: Mailer;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    const own = await createWorkspace(apiClient(engine), `removal ${uniqueSuffix()}`);
    api = own.api;
    workspaceId = own.id;
    capture = await startCapture();
    mailer = createMailer(capture.url);
  });
  afterAll(async () => {
    mailer?.close();
    await capture?.stop();
    await engine?.cleanup();
  });

  const user = async (name: string): Promise<User> => {
    const res = await api.post('/v1/users', {
      email: `${name}.${uniqueSuffix()}@example.com`,
      name,
    });
    expect(res.status).toBe(201);
    return res.body as User;
  };
  const remove = (id: string, query = '') => api.request('DELETE', `/v1/users/${id}${query}`);
  const task = async (title: string, assignee: string): Promise<Task> => {
    const res = await api.post('/v1/tasks', { title, assignee: { type: 'user', user: assignee } });
    expect(res.status).toBe(201);
    return res.body as Task;
  };
  const ownedContact = async (owner: string): Promise<string> => {
    const res = await api.post('/v1/contacts', {
      userId: `lead-${uniqueSuffix()}`,
      ownerId: owner,
    });
    expect(res.status).toBe(201);
    return (res.body as { id: string }).id;
  };

  it('hands open tasks, contacts and team places to the colleague who takes over', async () => {
    const [leaver, colleague] = [await user('leaver'), await user('colleague')];
    const s = uniqueSuffix();
    expect(
      (
        await api.post('/v1/teams', {
          key: `sales-${s}`,
          name: 'Sales',
          members: [leaver.id, colleague.id],
          lead: leaver.email,
        })
      ).status,
    ).toBe(201);
    const open = [await task('Call A', leaver.id), await task('Call B', leaver.email)];
    const done = await task('Called C', leaver.id);
    expect((await api.post(`/v1/tasks/${done.id}/complete`, { by: leaver.id })).status).toBe(200);
    const lead = await ownedContact(leaver.id);

    const res = await remove(leaver.id, `?reassignTo=${encodeURIComponent(colleague.email)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as User & { moved: Record<string, unknown> };
    expect(body).toMatchObject({ id: leaver.id, replacedById: colleague.id });
    expect(body.removedAt).not.toBeNull();
    expect(body.moved).toEqual({
      removed: true,
      replacedById: colleague.id,
      openTasks: 2,
      contacts: 1,
      teams: 1,
      teamsLed: 1,
    });

    for (const t of open)
      expect((await api.get(`/v1/tasks/${t.id}`)).body).toMatchObject({
        assigneeId: colleague.id,
        status: 'open',
      });
    // History stays as it was: the leaver did that task.
    expect((await api.get(`/v1/tasks/${done.id}`)).body).toMatchObject({
      assigneeId: leaver.id,
      status: 'done',
    });
    expect((await api.get(`/v1/contacts/${lead}`)).body).toMatchObject({ ownerId: colleague.id });
    const timeline = (await api.get(`/v1/contacts/${lead}/timeline`)).body as {
      data: { kind: string; detail: Record<string, unknown> }[];
    };
    expect(timeline.data).toContainEqual(
      expect.objectContaining({
        kind: 'attributeChange',
        detail: { attribute: 'ownerId', from: leaver.id, to: colleague.id, source: 'user removed' },
      }) as unknown,
    );
    // Round-robin over the team now reaches the colleague only.
    for (let i = 0; i < 3; i++) {
      const rr = await api.post('/v1/tasks', {
        title: `Lead ${i}`,
        assignee: { type: 'roundRobin', team: `sales-${s}` },
      });
      expect((rr.body as Task).assigneeId).toBe(colleague.id);
    }

    const listed = ((await api.get('/v1/users')).body as { data: User[] }).data;
    expect(listed.map((u) => u.id)).not.toContain(leaver.id);
    const all = ((await api.get('/v1/users?removed=true')).body as { data: User[] }).data;
    expect(all.find((u) => u.id === leaver.id)?.removedAt).not.toBeNull();

    // Removing again moves nothing and keeps who took over.
    const again = await remove(leaver.id);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { moved: unknown }).moved).toEqual({
      removed: false,
      replacedById: colleague.id,
      openTasks: 0,
      contacts: 0,
      teams: 0,
      teamsLed: 0,
    });
  });

  it('refuses a removed user as assignee, owner, team member or completer', async () => {
    const leaver = await user('gone');
    const kept = await task('Before', leaver.id);
    expect((await remove(leaver.id)).status).toBe(200);
    // Without someone to take over, the open task is unassigned.
    expect((await api.get(`/v1/tasks/${kept.id}`)).body).toMatchObject({ assigneeId: null });

    const assigned = await api.post('/v1/tasks', {
      title: 'After',
      assignee: { type: 'user', user: leaver.email },
    });
    expect(assigned.status).toBe(422);
    const owned = await api.post('/v1/contacts', {
      userId: `x-${uniqueSuffix()}`,
      ownerId: leaver.id,
    });
    expect(owned.status).toBe(422);
    const team = await api.post('/v1/teams', {
      key: `t-${uniqueSuffix()}`,
      name: 'T',
      members: [leaver.email],
    });
    expect(team.status).toBe(422);
    const completed = await api.post(`/v1/tasks/${kept.id}/complete`, { by: leaver.id });
    expect(completed.status).toBe(422);
    expect((completed.body as { errors: unknown[] }).errors).toEqual([
      expect.objectContaining({ pointer: '/by', code: 'removed-user' }),
    ]);
  });

  it("gives a running journey's task for a removed user to the colleague who took over", async () => {
    const [leaver, colleague] = [await user('rep'), await user('successor')];
    const s = await seed(engine.deps.prisma, {
      email: `lead.${uniqueSuffix()}@example.com`,
      workspaceId,
    });
    const enrollmentId = await s.enrollment();
    const input = (stepId: string) => ({
      workspaceId,
      enrollmentId,
      contactId: s.contactId,
      stepId,
      iteration: 1,
      trigger: { name: null, properties: {} },
      action: {
        type: 'createTask' as const,
        title: 'Call {{contact.firstName}}',
        description: null,
        // The journey was published while the leaver was still here.
        assignee: { type: 'user' as const, user: leaver.email },
        dueInMs: null,
        priority: 'normal' as const,
      },
    });
    expect((await remove(leaver.id, `?reassignTo=${colleague.id}`)).status).toBe(200);
    const created = await createTaskActivity(activityDeps(engine, mailer), input('call'));
    const row = await engine.deps.prisma.task.findUniqueOrThrow({ where: { id: created.taskId } });
    expect(row.assigneeId).toBe(colleague.id);

    // And when the colleague leaves too, with nobody after them, the task is unassigned.
    expect((await remove(colleague.id)).status).toBe(200);
    const later = await createTaskActivity(activityDeps(engine, mailer), input('call-again'));
    const unassigned = await engine.deps.prisma.task.findUniqueOrThrow({
      where: { id: later.taskId },
    });
    expect(unassigned.assigneeId).toBeNull();
  });

  it('refuses a bad handover and changes nothing; only admin keys remove users', async () => {
    const [leaver, colleague] = [await user('staying'), await user('other')];
    const open = await task('Still mine', leaver.id);
    const expectProblem = async (query: string, code: string) => {
      const res = await remove(leaver.id, query);
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as { errors: unknown[] };
      expect(problem.errors).toEqual([expect.objectContaining({ pointer: '/reassignTo', code })]);
    };
    await expectProblem('?reassignTo=nobody%40example.com', 'unknown-user');
    await expectProblem(`?reassignTo=${leaver.email}`, 'same-user');
    expect((await remove(colleague.id)).status).toBe(200);
    await expectProblem(`?reassignTo=${colleague.id}`, 'unknown-user'); // removed: not active
    expect((await remove('no-such-user')).status).toBe(404);

    const key = await api.post('/v1/api-keys', { name: `w ${uniqueSuffix()}`, scope: 'write' });
    const writer = clientWith(api, {
      authorization: `Bearer ${(key.body as { key: string }).key}`,
    });
    expect((await writer.request('DELETE', `/v1/users/${leaver.id}`)).status).toBe(403);

    expect((await api.get(`/v1/users/${leaver.id}`)).body).toMatchObject({ removedAt: null });
    expect((await api.get(`/v1/tasks/${open.id}`)).body).toMatchObject({ assigneeId: leaver.id });
  });

  it('takes a removed user back as the same user when they are added again', async () => {
    const leaver = await user('returning');
    const done = await task('Old work', leaver.id);
    expect((await remove(leaver.id)).status).toBe(200);
    const back = await api.post('/v1/users', { email: leaver.email.toUpperCase(), name: 'Back' });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({
      id: leaver.id,
      name: 'Back',
      removedAt: null,
      replacedById: null,
    });
    expect(
      (await api.post('/v1/tasks', { title: 'New', assignee: { type: 'user', user: leaver.id } }))
        .status,
    ).toBe(201);
    // An active user's email is still taken.
    expect((await api.post('/v1/users', { email: leaver.email, name: 'Twin' })).status).toBe(409);
    expect(done.assigneeId).toBe(leaver.id);
  });
});
