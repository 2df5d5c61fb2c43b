import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishScoringModel } from '../../engine/index.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { countingStarts, temporalRefusing } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { createWorkspace } from '../api/workspaces.js';

interface Preview {
  changes: { userId: string | null; from: string | null; to: string | null }[];
}

/**
 * Applying a scoring version moves lifecycle stages as its thresholds say, the moves that
 * preview announced, with the stage-change events journeys trigger on. Before, apply rewrote
 * scores only: an `mql` that the new version would make a `lead` stayed `mql`, and even its
 * next events did not move it.
 */
describe.each(databaseVariants())('applying a scoring version (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let workspaceId: string;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    // A workspace of its own: the rescore covers every contact of the workspace, and on the
    // shared PostgreSQL database the default one holds the contacts of every other test file.
    const workspace = await createWorkspace(apiClient(engine), `stages-${uniqueSuffix()}`);
    api = workspace.api;
    workspaceId = workspace.id;
  });
  afterAll(async () => engine?.cleanup());

  it('moves the stages that preview lists, and stores their stage events', async () => {
    const s = uniqueSuffix();
    const demo = `demo_booked_${s}`;
    const model = (points: number) => ({
      id: `stages-${s}`,
      name: 'Demos',
      engagement: { rules: [{ id: 'demo', event: demo, points }] },
      lifecycle: {
        thresholds: [
          { stage: 'lead', enterAt: 10, exitBelow: 5 },
          { stage: 'mql', enterAt: 60, exitBelow: 45 },
        ],
      },
    });
    const user = `ada-${s}`;
    const stageOf = async () =>
      ((await api.get(`/v1/contacts/${user}`)).body as { lifecycleStage?: string })
        .lifecycleStage ?? null;
    expect((await api.post('/v1/scoring-models', model(70))).status).toBe(201);
    expect((await api.post('/v1/track', { userId: user, event: demo })).status).toBe(200);
    await eventually(async () => (await stageOf()) === 'mql', 10_000, 'the contact to be an mql');

    const v2 = model(20);
    const preview = (await api.post('/v1/scoring-models/preview', v2)).body as Preview;
    expect(preview.changes.filter((c) => c.userId === user)).toMatchObject([
      { from: 'mql', to: 'lead' },
    ]);
    expect((await api.post('/v1/scoring-models', v2)).status).toBe(201);
    const applied = await api.post(`/v1/scoring-models/stages-${s}/versions/2/apply`, {});
    expect(applied.status).toBe(202);
    await eventually(
      async () =>
        (
          (await api.get(`/v1/scoring-models/stages-${s}`)).body as {
            versions: { version: number; rescore: { status: string } }[];
          }
        ).versions.find((v) => v.version === 2)?.rescore.status === 'done',
      30_000,
      'the rescore',
    );
    expect(await stageOf()).toBe('lead');
    const events = await engine.deps.sql.query<{ properties: { from: string; to: string } }>(
      `SELECT e.properties FROM events e JOIN contacts c ON c.id = e.contact_id
       WHERE c.user_id = $1 AND e.name = 'lifecycle_stage_changed' ORDER BY e.received_at, e.id`,
      [user],
    );
    expect(events.map((e) => [e.properties.from, e.properties.to])).toEqual([
      [null, 'mql'],
      ['mql', 'lead'],
    ]);
    // What preview announced has happened: it has nothing left to announce for the contact.
    const after = (await api.post('/v1/scoring-models/preview', v2)).body as Preview;
    expect(after.changes.filter((c) => c.userId === user)).toEqual([]);
    // Three more demos under the new version (lead 80): the next event moves it on again.
    for (let i = 0; i < 3; i++)
      expect((await api.post('/v1/track', { userId: user, event: demo })).status).toBe(200);
    await eventually(async () => (await stageOf()) === 'mql', 10_000, 'an mql again');
  });

  it('publishing a first model again finishes an apply whose rescore never started', async () => {
    const s = uniqueSuffix();
    const model = {
      id: `retried-${s}`,
      name: 'Retried',
      engagement: { rules: [{ id: 'visit', event: `visited_${s}`, points: 5 }] },
    };
    const rescoreOf = async () =>
      (
        (await api.get(`/v1/scoring-models/retried-${s}`)).body as {
          versions: { version: number; rescore: { status: string } }[];
        }
      ).versions.map((v) => [v.version, v.rescore.status]);
    // The version is stored and made active, then Temporal refuses the rescore's start.
    const down = temporalRefusing(engine.deps.temporal, 'start');
    await expect(
      publishScoringModel({ ...engine.deps, temporal: down }, workspaceId, model),
    ).rejects.toThrow('Temporal unavailable');
    expect(await rescoreOf()).toEqual([[1, 'failed']]);

    // The client's retry of the publish: the same version, applied now.
    expect((await api.post('/v1/scoring-models', model)).status).toBeLessThan(300);
    await eventually(async () => (await rescoreOf())[0]?.[1] === 'done', 30_000, 'the rescore');
    const applied = await engine.deps.prisma.scoringModelVersion.findFirstOrThrow({
      where: { model: { key: `retried-${s}`, workspaceId } },
    });
    // Once done, publishing it again applies nothing more.
    expect((await api.post('/v1/scoring-models', model)).status).toBeLessThan(300);
    const after = await engine.deps.prisma.scoringModelVersion.findFirstOrThrow({
      where: { id: applied.id },
    });
    expect(after.appliedAt).toEqual(applied.appliedAt);
  });

  it('refuses to apply a version while it is being applied, and changes nothing', async () => {
    const s = uniqueSuffix();
    const model = (points: number) => ({
      id: `busy-${s}`,
      name: 'Busy',
      engagement: { rules: [{ id: 'visit', event: `visited_${s}`, points }] },
    });
    expect((await api.post('/v1/scoring-models', model(5))).status).toBe(201);
    expect((await api.post('/v1/scoring-models', model(7))).status).toBe(201);
    const stored = await engine.deps.prisma.scoringModel.findFirstOrThrow({
      where: { workspaceId, key: `busy-${s}` },
      include: { versions: { orderBy: { version: 'asc' } } },
    });
    const [first, second] = stored.versions;
    expect(stored.activeVersionId).toBe(first?.id);
    // Version 2's rescore is under way (as after a first apply, a moment ago).
    await engine.deps.prisma.scoringModelVersion.update({
      where: { id: second?.id },
      data: { rescoreStatus: 'running', appliedAt: new Date() },
    });
    const again = await api.post(`/v1/scoring-models/busy-${s}/versions/2/apply`, {});
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: 409, title: 'Being applied' });
    const after = await engine.deps.prisma.scoringModel.findFirstOrThrow({
      where: { id: stored.id },
    });
    expect(after.activeVersionId).toBe(first?.id);

    // Marked running long ago with no rescore left in Temporal (terminated, or never started):
    // applying it again takes over.
    await engine.deps.prisma.scoringModelVersion.update({
      where: { id: second?.id },
      data: { appliedAt: new Date(Date.now() - 5 * 60_000) },
    });
    const recovered = await api.post(`/v1/scoring-models/busy-${s}/versions/2/apply`, {});
    expect(recovered.status, JSON.stringify(recovered.body)).toBe(202);
    await eventually(
      async () =>
        (
          await engine.deps.prisma.scoringModelVersion.findUniqueOrThrow({
            where: { id: second?.id },
          })
        ).rescoreStatus === 'done',
      20_000,
      'the rescore that took over',
    );
  });

  it('applies a new model once when it is published twice at the same time', async () => {
    const s = uniqueSuffix();
    const model = {
      id: `twice-${s}`,
      name: 'Twice',
      engagement: { rules: [{ id: 'visit', event: `visited_${s}`, points: 5 }] },
    };
    // Counts the rescores started (one workflow each).
    const { temporal } = engine.deps;
    const watched = countingStarts(temporal);
    const deps = { ...engine.deps, temporal: watched.client };
    const both = await Promise.all([
      publishScoringModel(deps, workspaceId, model),
      publishScoringModel(deps, workspaceId, model),
    ]);
    expect(both.every((r) => r.ok)).toBe(true);
    expect(watched.starts()).toBe(1);
  });
});
