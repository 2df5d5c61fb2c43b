import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * A write that names a user (a task's assignee, a team's members and lead) while that user is
 * being removed: it waits for the removal and is refused, or goes first and is handed over by
 * it. Before, it read the user as active, the removal committed, and the write then gave a
 * removed user a task or a team. PostgreSQL only: the embedded database runs one transaction at
 * a time, so the removal cannot be held open beside a request.
 */
describe.runIf(databaseVariants().includes('postgres'))('writes racing a user removal', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('postgres');
    api = (await createWorkspace(apiClient(engine), `removal-race-${uniqueSuffix()}`)).api;
  });
  afterAll(async () => engine?.cleanup());

  /**
   * Runs `write` while a transaction that marks the user removed is open, commits that
   * transaction half a second later, and answers the write's response once both are done.
   */
  async function duringRemoval<T>(userId: string, write: () => Promise<T>): Promise<T> {
    let pending: Promise<T> | null = null;
    await engine.deps.sql.transaction(async (tx) => {
      await tx.query(`UPDATE users SET removed_at = now() WHERE id = $1`, [userId]);
      pending = write();
      await new Promise((r) => setTimeout(r, 500));
    });
    if (!pending) throw new Error('the write did not start');
    return pending;
  }

  const newUser = async (name: string) =>
    (
      (await api.post('/v1/users', { email: `${name}-${uniqueSuffix()}@example.com`, name }))
        .body as { id: string }
    ).id;

  it('refuses a task assignee whose removal commits while the change waits', async () => {
    const leaving = await newUser('leaving');
    const task = (await api.post('/v1/tasks', { title: 'Call back' })).body as { id: string };
    const res = await duringRemoval(leaving, () =>
      api.request('PATCH', `/v1/tasks/${task.id}`, {
        body: JSON.stringify({ assignee: leaving }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(res.status).toBe(422);
    const stored = await engine.deps.prisma.task.findUniqueOrThrow({ where: { id: task.id } });
    expect(stored.assigneeId).toBeNull();
  });

  it('refuses team members and a lead whose removal commits while the team is written', async () => {
    const staying = await newUser('staying');
    const leaving = await newUser('leaving');
    const key = `team-${uniqueSuffix()}`;
    const created = await duringRemoval(leaving, () =>
      api.post('/v1/teams', { key, name: 'Reps', members: [staying, leaving], lead: leaving }),
    );
    expect(created.status).toBe(422);
    expect(await engine.deps.prisma.team.count({ where: { key } })).toBe(0);

    const other = await newUser('other');
    expect((await api.post('/v1/teams', { key, name: 'Reps', members: [staying] })).status).toBe(
      201,
    );
    const put = await duringRemoval(other, () =>
      api.request('PUT', `/v1/teams/${key}/members`, {
        body: JSON.stringify({ members: [staying, other] }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    expect(put.status).toBe(422);
    const team = await engine.deps.prisma.team.findFirstOrThrow({
      where: { key },
      include: { members: true },
    });
    expect(team.members.map((m) => m.userId)).toEqual([staying]);
  });
});
