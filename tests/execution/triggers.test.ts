import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyIdentify } from '../../engine/apply-identify.js';
import { scheduleId } from '../../engine/index.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Run {
  reason: string;
  status: string;
  scanned: number;
  enrolled: number;
}

/** Triggers other than events: conditions (live and on publish) and schedules, on Temporal. */
describe('condition and schedule triggers', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  const enrollmentsOf = async (key: string) =>
    (
      (await api.get(`/v1/journeys/${key}/enrollments`)).body as {
        data: { contact: { userId: string } }[];
      }
    ).data
      .map((e) => e.contact.userId)
      .sort();

  it('enrolls contacts who already match when published, with progress, and those who start to match later', async () => {
    const s = uniqueSuffix();
    await api.post('/v1/identify', {
      userId: `vip-a-${s}`,
      traits: { email: `a-${s}@example.com`, tier: `gold-${s}` },
    });
    await api.post('/v1/identify', {
      userId: `vip-b-${s}`,
      traits: { email: `b-${s}@example.com`, tier: `gold-${s}` },
    });
    await api.post('/v1/identify', {
      userId: `plain-${s}`,
      traits: { email: `c-${s}@example.com`, tier: 'none' },
    });
    const key = `gold-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Gold members',
      triggers: [
        {
          type: 'condition',
          condition: { type: 'equals', field: 'contact.tier', value: `gold-${s}` },
        },
      ],
      entry: { enrollExisting: true },
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const run = await eventually(
      async () => {
        const runs = ((await api.get(`/v1/journeys/${key}/audience-runs`)).body as { data: Run[] })
          .data;
        return runs[0]?.status === 'done' ? runs[0] : undefined;
      },
      20_000,
      'the pass over existing contacts',
    );
    expect(run).toMatchObject({ reason: 'publish', enrolled: 2 });
    expect(run.scanned).toBeGreaterThanOrEqual(3);
    expect(await enrollmentsOf(key)).toEqual([`vip-a-${s}`, `vip-b-${s}`]);

    await api.post('/v1/identify', { userId: `plain-${s}`, traits: { tier: `gold-${s}` } });
    await eventually(
      async () => (await enrollmentsOf(key)).length === 3,
      10_000,
      'the upgraded contact to enter',
    );
    await api.post('/v1/identify', {
      userId: `plain-${s}`,
      traits: { tier: `gold-${s}`, note: 'still gold' },
    });
    expect(await enrollmentsOf(key)).toHaveLength(3);
  });

  it('takes a contact in again only when it stops matching and starts again, not on every event while it matches', async () => {
    const s = uniqueSuffix();
    const user = `hot-${s}`;
    const statuses = async (key: string) =>
      (
        (await api.get(`/v1/journeys/${key}/enrollments`)).body as {
          data: { contact: { userId: string }; status: string }[];
        }
      ).data.map((e) => e.status);
    const finished = async (key: string, count: number) =>
      eventually(
        async () => {
          const all = await statuses(key);
          return all.length === count && all.every((x) => x === 'completed') ? all : undefined;
        },
        15_000,
        `${count} finished enrollment(s)`,
      );
    // Already matching when published (enrollExisting off): its next event is no start.
    await api.post('/v1/identify', {
      userId: `was-${s}`,
      traits: { email: `was-${s}@example.com`, tier: `hot-${s}` },
    });
    const key = `hot-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Hot lead hand-off',
      triggers: [
        {
          type: 'condition',
          condition: { type: 'equals', field: 'contact.tier', value: `hot-${s}` },
        },
      ],
      entry: { reentry: 'everyTime' },
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    // The pass at publish notes who matches already (and enrolls no one).
    const run = await eventually(
      async () => {
        const runs = ((await api.get(`/v1/journeys/${key}/audience-runs`)).body as { data: Run[] })
          .data;
        return runs[0]?.status === 'done' ? runs[0] : undefined;
      },
      20_000,
      'the pass over existing contacts',
    );
    expect(run).toMatchObject({ reason: 'publish', enrolled: 0 });

    await api.post('/v1/identify', {
      userId: user,
      traits: { email: `${user}@example.com`, tier: `hot-${s}` },
    });
    await finished(key, 1);
    // Still matching: page views and a trait change are no new start.
    await api.post('/v1/track', { userId: user, event: 'page_viewed' });
    await api.post('/v1/identify', { userId: user, traits: { tier: `hot-${s}`, note: 'x' } });
    await api.post('/v1/track', { userId: user, event: 'page_viewed' });
    // Stops matching, then matches again: a second start.
    await api.post('/v1/identify', { userId: user, traits: { tier: 'cold' } });
    await api.post('/v1/track', { userId: user, event: 'page_viewed' });
    await api.post('/v1/identify', { userId: user, traits: { tier: `hot-${s}` } });
    await finished(key, 2);
    await api.post('/v1/track', { userId: user, event: 'page_viewed' });
    await api.post('/v1/track', { userId: `was-${s}`, event: 'page_viewed' });
    // Routing is done when the API answers; anything a wrong start began shows as a row.
    expect(await statuses(key)).toEqual(['completed', 'completed']);
  });

  it('enrolls a schedule trigger’s audience at its time, and keeps recurring schedules in Temporal', async () => {
    const s = uniqueSuffix();
    await api.post('/v1/identify', {
      userId: `news-${s}`,
      traits: { email: `n-${s}@example.com`, list: `news-${s}` },
    });
    await api.post('/v1/identify', {
      userId: `other-${s}`,
      traits: { email: `o-${s}@example.com`, list: 'other' },
    });
    const key = `newsletter-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Newsletter',
      triggers: [
        {
          type: 'schedule',
          // Far enough ahead that publishing on a loaded machine does not reach it first.
          at: new Date(Date.now() + 8000).toISOString(),
          audience: { type: 'equals', field: 'contact.list', value: `news-${s}` },
        },
        {
          type: 'schedule',
          recurring: {
            frequency: 'weekly',
            time: '09:30',
            weekdays: ['mon'],
            timezone: 'Europe/Berlin',
          },
        },
      ],
      steps: [{ id: 'issue', type: 'sendEmail', template: 'tips' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const { id: journeyId } = await engine.deps.prisma.journey.findFirstOrThrow({ where: { key } });
    const description = await engine.deps.temporal.schedule
      .getHandle(scheduleId(journeyId, 1))
      .describe();
    expect(description.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 9 }],
      minute: [{ start: 30 }],
    });
    expect(description.spec.timezone).toBe('Europe/Berlin');

    await eventually(
      async () => (await enrollmentsOf(key)).length === 1,
      30_000,
      'the scheduled audience',
    );
    expect(await enrollmentsOf(key)).toEqual([`news-${s}`]);

    expect((await api.post(`/v1/journeys/${key}/pause`, {})).status).toBe(200);
    // Pausing reaches the schedule as a signal to Temporal's scheduler, so describe() sees it
    // once the scheduler has taken it, not necessarily at the instant the API answers.
    await eventually(
      async () =>
        (await engine.deps.temporal.schedule.getHandle(scheduleId(journeyId, 1)).describe()).state
          .paused,
      // As long as the audience above: on a loaded machine (a CI run beside other tests) the
      // scheduler took more than 10 s once.
      30_000,
      'the recurring schedule to be paused',
    );
    await api.post(`/v1/journeys/${key}/archive`, {});
    await expect(
      engine.deps.temporal.schedule.getHandle(scheduleId(journeyId, 1)).describe(),
    ).rejects.toThrow();
  });
  it('sends a one-off broadcast once, at the time of the version published last', async () => {
    const s = uniqueSuffix();
    await api.post('/v1/identify', {
      userId: `bc-${s}`,
      traits: { email: `bc-${s}@example.com`, list: `bc-${s}` },
    });
    const key = `broadcast-${s}`;
    const definition = (atMs: number, subject: string) => ({
      id: key,
      name: 'Broadcast',
      entry: { reentry: 'everyTime' },
      triggers: [
        {
          type: 'schedule',
          at: new Date(atMs).toISOString(),
          audience: { type: 'equals', field: 'contact.list', value: `bc-${s}` },
        },
      ],
      steps: [{ id: 'issue', type: 'sendEmail', template: 'tips', subject }],
    });
    // Far enough ahead that publishing on a loaded machine does not reach it first.
    const first = Date.now() + 8000;
    expect((await api.post('/v1/journeys', definition(first, 'Tuesday'))).status).toBe(201);
    // Moved to later before it went: published again.
    const second = first + 6000;
    const moved = await api.post('/v1/journeys', definition(second, 'Thursday'));
    expect(moved.status, JSON.stringify(moved.body)).toBe(201);
    expect(moved.body).toMatchObject({ version: 2 });

    await eventually(async () => (await enrollmentsOf(key)).length > 0, 30_000, 'the broadcast');
    // The first time has passed long since; give a second send (if any) time to show.
    await new Promise((r) => setTimeout(r, 3000));
    const runs = (
      (await api.get(`/v1/journeys/${key}/enrollments`)).body as { data: { startedAt: string }[] }
    ).data;
    expect(runs).toHaveLength(1);
    expect(new Date(runs[0]?.startedAt ?? 0).getTime()).toBeGreaterThanOrEqual(second - 1000);
  });
  it('enrolls contacts whose yearly date falls today when the daily date run goes', async () => {
    const s = uniqueSuffix();
    const today = new Date();
    const birthday = `1990-${String(today.getUTCMonth() + 1).padStart(2, '0')}-${String(today.getUTCDate()).padStart(2, '0')}`;
    const other = `1990-${String(((today.getUTCMonth() + 6) % 12) + 1).padStart(2, '0')}-15`;
    await api.post('/v1/identify', {
      userId: `bday-${s}`,
      traits: { email: `bday-${s}@example.com`, birthday },
    });
    await api.post('/v1/identify', {
      userId: `later-${s}`,
      traits: { email: `later-${s}@example.com`, birthday: other },
    });
    const key = `birthday-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Birthday',
      triggers: [
        {
          type: 'date',
          attribute: 'birthday',
          yearly: true,
          time: '09:00',
          fallbackTimezone: 'UTC',
        },
      ],
      steps: [{ id: 'card', type: 'sendEmail', template: 'tips', subject: 'Happy birthday' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const { id: journeyId } = await engine.deps.prisma.journey.findFirstOrThrow({ where: { key } });
    // The daily run is a Temporal Schedule at 09:00 in the trigger's zone; run it now instead.
    const schedule = await engine.deps.temporal.schedule
      .getHandle(scheduleId(journeyId, 0))
      .describe();
    expect(schedule.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 9 }],
      minute: [{ start: 0 }],
    });
    await engine.deps.temporal.schedule.getHandle(scheduleId(journeyId, 0)).trigger();
    await eventually(
      async () => (await enrollmentsOf(key)).length === 1,
      20_000,
      'the birthday enrollment',
    );
    expect(await enrollmentsOf(key)).toEqual([`bday-${s}`]);
  });
  it('starts a lifecycleChange journey when an identify moves the stage, as a journey step would', async () => {
    const s = uniqueSuffix();
    const key = `won-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Customer onboarding',
      triggers: [{ type: 'lifecycleChange', to: 'customer' }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `buyer-${s}`;
    await api.post('/v1/identify', {
      userId,
      traits: { email: `${userId}@example.com`, lifecycleStage: 'lead' },
    });
    // Written as people write it: kept as the stage conditions name.
    const won = await api.post('/v1/identify', { userId, traits: { lifecycleStage: 'Customer' } });
    expect(won.status, JSON.stringify(won.body)).toBe(200);
    expect((await api.get(`/v1/contacts/${userId}`)).body).toMatchObject({
      lifecycleStage: 'customer',
    });
    expect(await enrollmentsOf(key)).toEqual([userId]);
    const contact = await engine.deps.prisma.contact.findFirstOrThrow({ where: { userId } });
    const moves = await engine.deps.prisma.event.findMany({
      where: { contactId: contact.id, name: 'lifecycle_stage_changed' },
      orderBy: { receivedAt: 'asc' },
    });
    expect(moves.map((e) => e.properties)).toEqual([
      { from: null, to: 'lead', source: 'identify' },
      { from: 'lead', to: 'customer', source: 'identify' },
    ]);
    // The same stage again is no move, nor is a repeat of the message that moved it.
    await api.post('/v1/identify', { userId, traits: { lifecycleStage: 'customer', plan: 'pro' } });
    await api.post('/v1/identify', { userId, traits: { lifecycleStage: 'Customer' } });
    expect(
      await engine.deps.prisma.event.count({
        where: { contactId: contact.id, name: 'lifecycle_stage_changed' },
      }),
    ).toBe(2);
    // A name outside the stage list is kept as sent: nothing a client sends is lost.
    const churned = await api.post('/v1/identify', {
      userId,
      traits: { lifecycleStage: 'Churned' },
    });
    expect(churned.status).toBe(200);
    expect((await api.get(`/v1/contacts/${userId}`)).body).toMatchObject({
      lifecycleStage: 'Churned',
    });
  });
  it('stores the stage move of an identify that failed after writing the contact, once, when it is sent again', async () => {
    const s = uniqueSuffix();
    const userId = `retried-${s}`;
    await api.post('/v1/identify', { userId, traits: { lifecycleStage: 'lead' } });
    const contact = await engine.deps.prisma.contact.findFirstOrThrow({ where: { userId } });
    const messageId = `won-${s}`;
    // The first attempt wrote the contact, then failed before its event was stored (a crash, a
    // lost connection): the client got no answer and sends the same message again.
    await applyIdentify(engine.deps, [], contact.workspaceId, contact.id, {
      type: 'identify',
      messageId,
      userId,
      anonymousId: null,
      event: null,
      traits: { lifecycleStage: 'customer' },
      properties: {},
      timestamp: new Date(),
    });
    for (let i = 0; i < 2; i++) {
      const again = await api.post('/v1/identify', {
        userId,
        messageId,
        traits: { lifecycleStage: 'customer' },
      });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
    }
    const moves = await engine.deps.prisma.event.findMany({
      where: { contactId: contact.id, name: 'lifecycle_stage_changed' },
      orderBy: { receivedAt: 'asc' },
    });
    expect(moves.map((e) => e.properties)).toEqual([
      { from: null, to: 'lead', source: 'identify' },
      { from: 'lead', to: 'customer', source: 'identify' },
    ]);
  });
});
