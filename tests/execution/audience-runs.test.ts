import type { Prisma } from '@prisma/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enrollAudiencePage, publishJourney } from '../../engine/index.js';
import { createWorkspace } from '../api/workspaces.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { countingStarts, temporalRefusing } from '../support/faults.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Run {
  id: string;
  status: string;
  scanned: number;
  enrolled: number;
  failure: string | null;
  finishedAt: string | null;
}

/**
 * A pass over a journey's audience ("enroll contacts who already match" on publish) never
 * stays `running` once its workflow has ended: a failure, a cancellation or a termination in
 * Temporal shows in GET /v1/journeys/:key/audience-runs with a reason a marketer can read.
 */
describe('audience runs that do not finish', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });
  // Live routing evaluates the same unreadable trigger on every identify in the workspace:
  // archive each test's journey so the next test's contacts can be stored.
  const published: string[] = [];
  afterEach(async () => {
    for (const key of published.splice(0)) await api.post(`/v1/journeys/${key}/archive`, {});
  });

  /**
   * Saves a draft that enrolls existing gold members, then changes its stored plan (to what
   * another Drumbeat version sharing the database would have saved), publishes it, and
   * returns the pass that publishing started.
   */
  async function publishWithStoredPlan(key: string, changes: Prisma.JsonObject): Promise<Run> {
    await api.post('/v1/identify', {
      userId: `member-${key}`,
      traits: { email: `member-${key}@example.com`, tier: `gold-${key}` },
    });
    const draft = await api.post('/v1/journeys?draft=true', {
      id: key,
      name: 'Gold members',
      triggers: [
        {
          type: 'condition',
          condition: { type: 'equals', field: 'contact.tier', value: `gold-${key}` },
        },
      ],
      entry: { enrollExisting: true },
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const version = await engine.deps.prisma.journeyVersion.findFirstOrThrow({
      where: { journey: { key } },
    });
    await engine.deps.prisma.journeyVersion.update({
      where: { id: version.id },
      data: { plan: { ...(version.plan as Prisma.JsonObject), ...changes } },
    });
    const publishing = await api.post(`/v1/journeys/${key}/publish`, {});
    expect(publishing.status, JSON.stringify(publishing.body)).toBe(200);
    published.push(key);
    return eventually(async () => (await runsOf(key))[0], 10_000, 'the pass to start');
  }

  const runsOf = async (key: string) =>
    ((await api.get(`/v1/journeys/${key}/audience-runs`)).body as { data: Run[] }).data;

  /** A trigger condition this Drumbeat does not know: every page fails and is retried. */
  const unknownCondition = {
    triggers: [{ type: 'condition', condition: { type: 'inSegment', segment: 'gold' } }],
  };

  it('a pass that cannot read the journey ends failed, and the API says why', async () => {
    const key = `newer-${uniqueSuffix()}`;
    // A newer Drumbeat's plan (format 3, a condition kind this one lacks): no retry can help.
    await publishWithStoredPlan(key, { ...unknownCondition, format: 3 });

    const run = await eventually(
      async () => {
        const [latest] = await runsOf(key);
        return latest?.status !== 'running' ? latest : undefined;
      },
      20_000,
      'the pass to end',
    );
    expect(run).toMatchObject({ status: 'failed', enrolled: 0 });
    expect(run.failure).toMatch(/cannot read \(plan format 3, this one reads 2\)/);
    expect(run.failure).toMatch(/publish the journey again/);
    expect(run.finishedAt).not.toBeNull();
  });

  it('a pass cancelled in Temporal records that it was cancelled', async () => {
    const key = `cancel-${uniqueSuffix()}`;
    const started = await publishWithStoredPlan(key, unknownCondition);
    const handle = engine.deps.temporal.workflow.getHandle(started.id);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();

    // The workflow recorded it itself: the store says so before anyone lists the runs.
    const stored = await engine.deps.prisma.audienceRun.findUnique({ where: { id: started.id } });
    expect(stored).toMatchObject({ status: 'cancelled', failure: 'The run was cancelled.' });
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect((await runsOf(key))[0]).toMatchObject({ status: 'cancelled' });
  });

  it('a pass terminated in Temporal is not left running', async () => {
    const key = `stop-${uniqueSuffix()}`;
    const started = await publishWithStoredPlan(key, unknownCondition);
    expect(started.status).toBe('running');
    const handle = engine.deps.temporal.workflow.getHandle(started.id);
    await handle.terminate('started by mistake');

    const [run] = await runsOf(key);
    expect(run).toMatchObject({
      id: started.id,
      status: 'cancelled',
      failure: 'Stopped in Temporal (terminated): started by mistake',
    });
    expect(run?.finishedAt).not.toBeNull();
    const stored = await engine.deps.prisma.audienceRun.findUnique({ where: { id: started.id } });
    expect(stored?.status, 'settled in the store too').toBe('cancelled');
  });
  it('a publish whose pass never started is finished by publishing the same definition again', async () => {
    const key = `unstarted-${uniqueSuffix()}`;
    await api.post('/v1/identify', {
      userId: `member-${key}`,
      traits: { email: `member-${key}@example.com`, tier: `gold-${key}` },
    });
    const definition = {
      id: key,
      name: 'Gold members',
      triggers: [
        {
          type: 'condition',
          condition: { type: 'equals', field: 'contact.tier', value: `gold-${key}` },
        },
      ],
      entry: { enrollExisting: true },
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    };
    // Temporal refuses the pass's start, after the version was committed and went live.
    const { temporal } = engine.deps;
    const down = temporalRefusing(temporal, 'start');
    await expect(
      publishJourney({ ...engine.deps, temporal: down }, 'default', definition),
    ).rejects.toThrow('Temporal unavailable');
    published.push(key);
    expect((await api.get(`/v1/journeys/${key}`)).body).toMatchObject({ status: 'active' });
    expect(await runsOf(key)).toEqual([]);

    // The client's retry: the same definition, no new version, and the pass runs.
    const again = await api.post('/v1/journeys', definition);
    expect(again.status, JSON.stringify(again.body)).toBeLessThan(300);
    const run = await eventually(
      async () => {
        const [latest] = await runsOf(key);
        return latest?.status === 'done' ? latest : undefined;
      },
      20_000,
      'the pass over existing contacts',
    );
    expect(run).toMatchObject({ enrolled: 1 });
    // Once a pass has run, publishing the same version again starts none.
    const watched = countingStarts(temporal);
    const third = await publishJourney(
      { ...engine.deps, temporal: watched.client },
      'default',
      definition,
    );
    expect(third).toMatchObject({ ok: true, created: false });
    expect(watched.starts()).toBe(0);
    expect(await runsOf(key)).toHaveLength(1);
  });

  it('a page tried again enrolls no one twice and counts once, even where re-entry allows more', async () => {
    const s = uniqueSuffix();
    // A workspace of its own, so that the pass's one page holds only these contacts.
    const ws = await createWorkspace(api, `retried page ${s}`);
    for (let i = 0; i < 3; i++)
      await ws.api.post('/v1/identify', { userId: `vip-${i}-${s}`, traits: { tier: 'vip' } });
    const key = `vips-${s}`;
    const published = await ws.api.post('/v1/journeys', {
      id: key,
      name: 'VIPs',
      triggers: [
        { type: 'condition', condition: { type: 'equals', field: 'contact.tier', value: 'vip' } },
      ],
      entry: { enrollExisting: true, reentry: 'everyTime' },
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const runs = async () =>
      ((await ws.api.get(`/v1/journeys/${key}/audience-runs`)).body as { data: Run[] }).data;
    const done = await eventually(
      async () => ((await runs())[0]?.status === 'done' ? (await runs())[0] : undefined),
      20_000,
      'the pass to finish',
    );
    expect(done).toMatchObject({ scanned: 3, enrolled: 3 });
    const journey = await engine.deps.prisma.journey.findFirstOrThrow({ where: { key } });
    // The page's activity again, as Temporal retries it after a failure that followed its work.
    const again = await enrollAudiencePage(engine.deps, {
      runId: done.id,
      workspaceId: ws.id,
      journeyId: journey.id,
      reason: 'publish',
      triggerIndex: null,
      cursor: null,
      pageSize: 100,
    });
    expect(again.enrolled).toBe(3); // the run's own enrollments, found again
    const enrollments = await engine.deps.prisma.enrollment.count({
      where: { journeyVersion: { journeyId: journey.id } },
    });
    expect(enrollments).toBe(3);
    expect((await runs())[0]).toMatchObject({ scanned: 3, enrolled: 3 });
  });

  it('a pass published while the journey is paused waits, and enrolls once it is resumed', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(api, `paused pass ${s}`);
    for (let i = 0; i < 2; i++)
      await ws.api.post('/v1/identify', { userId: `gold-${i}-${s}`, traits: { tier: 'gold' } });
    const key = `gold-${s}`;
    const version = (tier: string) => ({
      id: key,
      name: `Tier ${tier}`,
      triggers: [
        { type: 'condition', condition: { type: 'equals', field: 'contact.tier', value: tier } },
      ],
      entry: { enrollExisting: true },
      steps: [{ id: 'nap', type: 'wait', duration: 'P1D' }],
    });
    // The first version matches no one; the journey is paused, then the second is published.
    expect((await ws.api.post('/v1/journeys', version('silver'))).status).toBe(201);
    expect((await ws.api.post(`/v1/journeys/${key}/pause`, {})).status).toBe(200);
    const second = await ws.api.post('/v1/journeys', version('gold'));
    expect(second.status, JSON.stringify(second.body)).toBeLessThan(300);
    const runs = async () =>
      ((await ws.api.get(`/v1/journeys/${key}/audience-runs`)).body as { data: Run[] }).data;
    const enrolled = async () =>
      engine.deps.prisma.enrollment.count({ where: { journeyVersion: { journey: { key } } } });
    // Its pass waits while the journey is paused: running, nothing enrolled.
    await eventually(
      async () => (await runs()).length === 2 && (await runs())[0]?.status === 'running',
      10_000,
      "the second version's pass to start",
    );
    expect(await enrolled()).toBe(0);
    expect((await ws.api.post(`/v1/journeys/${key}/resume`, {})).status).toBe(200);
    const done = await eventually(
      async () => ((await runs())[0]?.status === 'done' ? (await runs())[0] : undefined),
      40_000,
      'the pass to finish after the resume',
    );
    expect(done).toMatchObject({ scanned: 2, enrolled: 2 });
    expect(await enrolled()).toBe(2);
  }, 60_000);
});
