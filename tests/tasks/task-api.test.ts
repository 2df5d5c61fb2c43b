import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Task {
  id: string;
  workspaceId: string;
  title: string;
  dueAt: string | null;
  createdAt: string;
}

interface TaskPage {
  data: Task[];
  nextCursor: string | null;
}

/**
 * `POST /v1/tasks` refuses an assignee the workspace lacks, as `PATCH` does, instead of making
 * an unassigned task; `GET /v1/tasks` pages through every task in due-date order.
 */
describe.each(databaseVariants())('tasks API (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it.each([
    [
      'a user',
      { type: 'user', user: 'typo@exmaple.com' },
      {
        pointer: '/assignee/user',
        code: 'unknown-user',
        detail:
          'The task is assigned to the user `typo@exmaple.com`, who does not exist in this workspace.',
      },
    ],
    [
      'a round-robin team',
      { type: 'roundRobin', team: 'sales-typo' },
      {
        pointer: '/assignee/team',
        code: 'unknown-team',
        detail:
          'The task is assigned to the team `sales-typo`, which does not exist in this workspace.',
      },
    ],
    [
      'a least-loaded team',
      { type: 'leastLoaded', team: 'sales-typo' },
      {
        pointer: '/assignee/team',
        code: 'unknown-team',
        detail:
          'The task is assigned to the team `sales-typo`, which does not exist in this workspace.',
      },
    ],
    [
      "the owner's fallback team",
      { type: 'owner', fallbackTeam: 'sales-typo' },
      {
        pointer: '/assignee/fallbackTeam',
        code: 'unknown-team',
        detail:
          'The task is assigned to the team `sales-typo`, which does not exist in this workspace.',
      },
    ],
  ])(
    'refuses a task assigned to %s that does not exist, and stores nothing',
    async (_what, assignee, problem) => {
      const title = `Call back ${uniqueSuffix()}`;
      const res = await api.post('/v1/tasks', { title, assignee });
      expect(res.status).toBe(422);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 422, detail: 'The assignee does not exist.' });
      expect((res.body as { errors: unknown[] }).errors).toEqual([problem]);
      expect(await engine.deps.prisma.task.count({ where: { title } })).toBe(0);
    },
  );

  it('still creates a task for a user named by email in any case, or a team named by id', async () => {
    const suffix = uniqueSuffix();
    const user = await api.post('/v1/users', { email: `rep.${suffix}@example.com`, name: 'Rep' });
    const team = await api.post('/v1/teams', {
      key: `sales-${suffix}`,
      name: 'Sales',
      members: [`rep.${suffix}@example.com`],
    });
    const teamId = (team.body as { id: string }).id;
    const byEmail = await api.post('/v1/tasks', {
      title: 'A',
      assignee: { type: 'user', user: `REP.${suffix}@example.com` },
    });
    expect(byEmail.status).toBe(201);
    expect(byEmail.body).toMatchObject({ assigneeId: (user.body as { id: string }).id });
    const byTeamId = await api.post('/v1/tasks', {
      title: 'B',
      assignee: { type: 'roundRobin', team: teamId },
    });
    expect(byTeamId.status).toBe(201);
    expect(byTeamId.body).toMatchObject({
      assigneeId: (user.body as { id: string }).id,
      teamId,
    });
  });

  it('pages through more than 500 tasks, in due-date order, each once', async () => {
    const contactId = `paging-${uniqueSuffix()}`;
    const first = await api.post('/v1/tasks', { title: 'first' });
    const { workspaceId } = first.body as Task;
    // 505 tasks: due dates in reverse of creation, some on the same instant, a third without one.
    const createdAt = new Date('2026-01-01T00:00:00Z');
    const rows = Array.from({ length: 505 }, (_, i) => ({
      id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      workspaceId,
      title: `Lead ${i}`,
      contactId,
      priority: 'normal',
      status: 'open',
      dueAt: i % 3 === 0 ? null : new Date(Date.UTC(2026, 5, 1) - Math.floor(i / 10) * 3_600_000),
      createdAt: new Date(createdAt.getTime() + Math.floor(i / 4) * 1000),
    }));
    await engine.deps.prisma.task.createMany({ data: rows });

    const seen: Task[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.get(
        `/v1/tasks?contactId=${contactId}&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      const page = res.body as TaskPage;
      seen.push(...page.data);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);

    expect(pages).toBe(3);
    expect(new Set(seen.map((t) => t.id)).size).toBe(505);
    const expected = [...rows]
      .sort(
        (a, b) =>
          (a.dueAt?.getTime() ?? Infinity) - (b.dueAt?.getTime() ?? Infinity) ||
          a.createdAt.getTime() - b.createdAt.getTime() ||
          a.id.localeCompare(b.id),
      )
      .map((t) => t.id);
    expect(seen.map((t) => t.id)).toEqual(expected);
  });

  it('answers 50 tasks and a cursor by default, and refuses a cursor that names no task', async () => {
    const contactId = `default-page-${uniqueSuffix()}`;
    const { workspaceId } = (await api.post('/v1/tasks', { title: 'any' })).body as Task;
    await engine.deps.prisma.task.createMany({
      data: Array.from({ length: 51 }, (_, i) => ({
        id: `0190b000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        workspaceId,
        title: `Task ${i}`,
        contactId,
        priority: 'normal',
        status: 'open',
      })),
    });
    const page = (await api.get(`/v1/tasks?contactId=${contactId}`)).body as TaskPage;
    expect(page.data).toHaveLength(50);
    expect(page.nextCursor).toBe(page.data[49]?.id);
    const rest = (await api.get(`/v1/tasks?contactId=${contactId}&cursor=${page.nextCursor}`))
      .body as TaskPage;
    expect(rest).toEqual({
      data: [expect.objectContaining({ title: 'Task 50' })],
      nextCursor: null,
    });

    const unknown = await api.get(`/v1/tasks?cursor=0190c000-0000-7000-8000-000000000000`);
    expect(unknown.status).toBe(422);
    expect((unknown.body as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe('/cursor');
  });
});
