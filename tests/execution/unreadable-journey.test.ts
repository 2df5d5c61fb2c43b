import type { Prisma } from '@prisma/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readStoredPlan, scheduleId } from '../../engine/index.js';
import { registry } from '../../metrics/index.js';
import { examplePlan, JOURNEY_EXAMPLES } from '../core/examples.js';
import { createWorkspace, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

describe('reading a stored plan', () => {
  it.each(JOURNEY_EXAMPLES)('reads the compiled plan of %s as stored', (file) => {
    const plan = examplePlan(file);
    expect(readStoredPlan(JSON.parse(JSON.stringify(plan)))).toEqual({ ok: true, plan });
  });

  it('refuses plans of another format, damaged ones and what is no plan at all', () => {
    const plan: Record<string, unknown> = { ...examplePlan('welcome-series.json') };
    expect(readStoredPlan({ ...plan, format: 1 })).toEqual({
      ok: false,
      detail: 'plan format 1; this Drumbeat reads format 2',
    });
    expect(readStoredPlan({ ...plan, triggers: [{ type: 'event' }] })).toMatchObject({ ok: false });
    expect(
      readStoredPlan({
        ...plan,
        triggers: [{ type: 'event', event: 'x', filter: { type: 'equals', value: 1 } }],
      }),
    ).toMatchObject({ ok: false, detail: 'the stored plan is damaged' });
    expect(readStoredPlan({ ...plan, enrollment: null })).toMatchObject({ ok: false });
    expect(readStoredPlan('not a plan')).toMatchObject({ ok: false });
  });
});

/**
 * A stored journey whose plan this Drumbeat cannot read (written by an older version, or
 * damaged) is left out of routing, logged once with its id and counted, instead of failing
 * every identify and track of its workspace: the other journeys go on enrolling and sending,
 * and GET /v1/journeys/:key says what is wrong with it.
 */
describe.each(databaseVariants())('an unreadable stored journey (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
  });
  afterAll(async () => {
    await engine?.cleanup();
    vi.restoreAllMocks();
  });

  /**
   * Publishes `definition`, then leaves the stored plan of the version it made as an older
   * Drumbeat might have: another plan format, with its triggers elsewhere.
   */
  async function publishUnreadable(
    ws: OtherWorkspace,
    definition: {
      readonly id: string;
      readonly triggers: readonly Prisma.InputJsonObject[];
      readonly [field: string]: unknown;
    },
  ) {
    const published = await ws.api.post('/v1/journeys', definition);
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const journey = await engine.deps.prisma.journey.findFirstOrThrow({
      where: { workspaceId: ws.id, key: definition.id },
      include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
    });
    const [version] = journey.versions;
    if (!version) throw new Error(`journey ${definition.id} has a version`);
    await engine.deps.prisma.journeyVersion.update({
      where: { id: version.id },
      data: { plan: { format: 1, trigger: definition.triggers[0] ?? null, steps: [] } },
    });
    return { journey, version };
  }

  it('is skipped by routing and shown as unreadable, while the rest of the workspace works', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(apiClient(engine), `Unreadable ${s}`);
    const legacyDefinition = {
      id: `legacy-${s}`,
      name: 'Legacy',
      triggers: [{ type: 'event', event: `signed_up_${s}` }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'tips' }],
    };
    const { journey, version } = await publishUnreadable(ws, legacyDefinition);
    // Publishing another journey refreshes the workspace's cached journeys at once.
    const welcome = await ws.api.post('/v1/journeys', {
      id: `welcome-${s}`,
      name: 'Welcome',
      triggers: [{ type: 'event', event: `signed_up_${s}` }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(welcome.status, JSON.stringify(welcome.body)).toBe(201);

    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const skipped = async () =>
      (await registry.getSingleMetric('drumbeat_unreadable_journeys_total')?.get())?.values.reduce(
        (sum, v) => sum + v.value,
        0,
      ) ?? 0;
    const before = await skipped();
    const email = `ada.${s}@example.com`;
    const identified = await ws.api.post('/v1/identify', {
      userId: `ada-${s}`,
      traits: { email, firstName: 'Ada' },
    });
    expect(identified.status, JSON.stringify(identified.body)).toBe(200);
    const signUp = () => ws.api.post('/v1/track', { userId: `ada-${s}`, event: `signed_up_${s}` });
    const tracked = await signUp();
    expect(tracked.status, JSON.stringify(tracked.body)).toBe(200);
    // Past the two seconds the workspace's journeys are cached for: read from the store again.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await signUp()).status).toBe(200);
    const mail = await waitForMail(apiClient(engine), email);
    expect(mail.map((m) => m.subject)).toEqual(['Welcome to Drumbeat, Ada!']);

    // Logged once with the journey's id however many events pass it by, and counted once.
    const logged = errors.mock.calls.filter((call) => call.join(' ').includes(journey.id));
    errors.mockRestore();
    expect(logged).toHaveLength(1);
    expect(String(logged[0]?.[0])).toContain(`legacy-${s}`);
    expect((await skipped()) - before).toBe(1);

    const shown = await ws.api.get(`/v1/journeys/legacy-${s}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: `legacy-${s}`,
      status: 'active',
      problem: {
        code: 'unreadable-plan',
        version: 1,
        detail: expect.stringContaining('publish the journey again') as unknown,
      },
      versions: [{ version: 1, readable: false }],
    });
    expect((await ws.api.get(`/v1/journeys/welcome-${s}`)).body).toMatchObject({
      problem: null,
      versions: [{ version: 1, readable: true }],
    });

    // A preview of the journey says what is wrong instead of failing.
    const preview = await ws.api.post('/v1/journeys/simulate', {
      key: `legacy-${s}`,
      contacts: [{ id: 'c1', enrollAt: new Date().toISOString() }],
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(409);
    expect(JSON.stringify(preview.body)).toContain('publish it again to preview it');

    // Published again unchanged, it gets a readable version 2 and starts contacts again.
    const republished = await ws.api.post('/v1/journeys', legacyDefinition);
    expect(republished.status, JSON.stringify(republished.body)).toBe(201);
    expect(republished.body).toMatchObject({ version: 2, created: true });
    expect((await ws.api.get(`/v1/journeys/legacy-${s}`)).body).toMatchObject({
      problem: null,
      versions: [
        { version: 2, readable: true },
        { version: 1, readable: false },
      ],
    });
    expect((await signUp()).status).toBe(200);
    const tips = await waitForMail(apiClient(engine), email, 2);
    expect(tips.map((m) => m.subject)).toContain('3 tips to get started, Ada');

    // A contact still enrolled on the unreadable version can unsubscribe: that enrollment's
    // suppression rules cannot be read, so it is left to the suppression list.
    const ada = await engine.deps.prisma.contact.findFirstOrThrow({
      where: { workspaceId: ws.id, userId: `ada-${s}` },
    });
    await engine.deps.prisma.enrollment.create({
      data: {
        id: `enrollment/legacy/${s}`,
        workspaceId: ws.id,
        journeyVersionId: version.id,
        contactId: ada.id,
        entryKey: 'once',
        status: 'active',
      },
    });
    const unsubscribed = await ws.api.request('PUT', `/v1/contacts/ada-${s}/subscriptions/all`, {
      body: JSON.stringify({ status: 'unsubscribed' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(unsubscribed.status, await unsubscribed.text()).toBe(200);
  });

  it('says why it cannot tell whether a contact would enter it', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(apiClient(engine), `Unreadable eligibility ${s}`);
    await publishUnreadable(ws, {
      id: `legacy-${s}`,
      name: 'Legacy',
      triggers: [{ type: 'event', event: `signed_up_${s}` }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'tips' }],
    });
    await ws.api.post('/v1/identify', {
      userId: `ada-${s}`,
      traits: { email: `ada.${s}@example.com` },
    });

    const answer = await ws.api.get(`/v1/journeys/legacy-${s}/eligibility/ada-${s}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(answer.body).toMatchObject({
      type: 'https://drumbeat.dev/problems/unreadable-plan',
      detail: expect.stringMatching(
        /^Version 1 of this journey was saved in a form this Drumbeat cannot read \(plan format 1; .*\): publish it again to check who can enter it\.$/,
      ) as unknown,
    });
  });

  it('can be paused and archived, schedules and running enrollments with it, but not resumed', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(apiClient(engine), `Unreadable lifecycle ${s}`);
    const key = `legacy-${s}`;
    const definition = {
      id: key,
      name: 'Legacy',
      triggers: [
        { type: 'event', event: `signed_up_${s}` },
        {
          type: 'schedule',
          recurring: { frequency: 'weekly', time: '09:30', weekdays: ['mon'], timezone: 'UTC' },
        },
      ],
      steps: [{ id: 'long', type: 'wait', duration: 'P30D' }],
    };
    // Version 1 reads and enrolls Ada; version 2, published later, cannot be read.
    const first = await ws.api.post('/v1/journeys', definition);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    await ws.api.post('/v1/identify', {
      userId: `ada-${s}`,
      traits: { email: `ada.${s}@example.com` },
    });
    await ws.api.post('/v1/track', { userId: `ada-${s}`, event: `signed_up_${s}` });
    const enrollment = await eventually(
      () =>
        engine.deps.prisma.enrollment.findFirst({
          where: { workspaceId: ws.id, status: 'active', journeyVersion: { journey: { key } } },
        }),
      20_000,
      'Ada to be waiting in version 1',
    );
    const { journey } = await publishUnreadable(ws, {
      ...definition,
      steps: [{ id: 'long', type: 'wait', duration: 'P60D' }],
    });
    const schedule = engine.deps.temporal.schedule.getHandle(scheduleId(journey.id, 1));

    const paused = await ws.api.post(`/v1/journeys/${key}/pause`, {});
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', enrollmentsTold: 1 });
    await eventually(
      async () => (await schedule.describe()).state.paused,
      10_000,
      'the weekly schedule to be paused',
    );

    // Resumed, it could not run: the operator is told to publish it again first.
    const resumed = await ws.api.post(`/v1/journeys/${key}/resume`, {});
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(409);
    expect(resumed.body).toMatchObject({
      type: 'https://drumbeat.dev/problems/unreadable-plan',
      detail: expect.stringMatching(
        /^Version 2 of this journey was saved in a form this Drumbeat cannot read \(.*\): publish it again, then resume it\.$/,
      ) as unknown,
    });
    expect((await ws.api.get(`/v1/journeys/${key}`)).body).toMatchObject({ status: 'paused' });
    expect((await schedule.describe()).state.paused).toBe(true);

    const archived = await ws.api.post(`/v1/journeys/${key}/archive`, {});
    expect(archived.status, JSON.stringify(archived.body)).toBe(200);
    expect(archived.body).toMatchObject({ status: 'archived', enrollmentsTold: 1 });
    await expect(schedule.describe()).rejects.toThrow();
    await eventually(
      async () =>
        (await engine.deps.prisma.enrollment.findUnique({ where: { id: enrollment.id } }))
          ?.status === 'exited',
      20_000,
      'Ada to leave the archived journey',
    );
  });

  it('fails a step that enrolls into it with the reason, not an error that retries', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(apiClient(engine), `Unreadable enroll step ${s}`);
    await publishUnreadable(ws, {
      id: `legacy-${s}`,
      name: 'Legacy',
      triggers: [{ type: 'manual' }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'tips' }],
    });
    const mover = await ws.api.post('/v1/journeys', {
      id: `mover-${s}`,
      name: 'Mover',
      triggers: [{ type: 'event', event: `moved_${s}` }],
      steps: [{ id: 'join', type: 'enroll', journey: `legacy-${s}` }],
    });
    expect(mover.status, JSON.stringify(mover.body)).toBe(201);
    await ws.api.post('/v1/identify', {
      userId: `ada-${s}`,
      traits: { email: `ada.${s}@example.com` },
    });
    await ws.api.post('/v1/track', { userId: `ada-${s}`, event: `moved_${s}` });

    const enrollment = await eventually(
      () =>
        engine.deps.prisma.enrollment.findFirst({
          where: { workspaceId: ws.id, journeyVersion: { journey: { key: `mover-${s}` } } },
        }),
      20_000,
      'Ada to enter the mover journey',
    );
    const failed = await eventually(
      async () => {
        const body = (await ws.api.get(`/v1/enrollments/${encodeURIComponent(enrollment.id)}`))
          .body as {
          status: string;
          log: { kind: string; stepId: string | null; detail: { error?: string } }[];
        };
        return body.status === 'failed' ? body : undefined;
      },
      20_000,
      'the enroll step to fail',
    );
    expect(failed.log).toContainEqual(
      expect.objectContaining({
        kind: 'actionFailed',
        stepId: 'join',
        detail: expect.objectContaining({
          error:
            'The journey it enrolls the contact in was saved in a form this Drumbeat cannot read: publish that journey again.',
        }) as unknown,
      }),
    );
  });
});
