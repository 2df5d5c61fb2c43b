import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeStored } from '../../engine/index.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

/**
 * An event routed a second time (its routed mark failed, or a sweep overlapped the first
 * routing) does not reach the enrollment it started as news: a journey whose goal is its own
 * trigger's name ("a second order") was converted by the order that began it.
 */
describe('routing an event again', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('does not tell an enrollment about the event that started it', async () => {
    const s = uniqueSuffix();
    const key = `second-order-${s}`;
    const order = `order_${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'Second order',
      triggers: [{ type: 'event', event: order }],
      goals: [{ id: 'again', type: 'event', event: order }],
      steps: [
        { id: 'later', type: 'wait', duration: 'P1D' },
        { id: 'nudge', type: 'sendEmail', template: 'welcome' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `buyer-${s}`;
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
    const tracked = await api.post('/v1/track', { userId, event: order });
    expect(tracked.status).toBe(200);
    const eventId = (tracked.body as { eventId: string }).eventId;
    const statuses = async () =>
      (
        (await api.get(`/v1/journeys/${key}/enrollments`)).body as { data: { status: string }[] }
      ).data.map((e) => e.status);
    await eventually(
      async () => (await statuses()).join() === 'active',
      20_000,
      'the enrollment to wait',
    );

    // Its routed mark lost: the event is routed again.
    await engine.deps.sql.query(`UPDATE events SET routed_at = NULL WHERE id = $1`, [eventId]);
    await routeStored(engine.deps, [eventId]);
    // A second order is still a conversion.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await statuses()).not.toContain('converted');
    expect(await statuses()).toHaveLength(1);

    await api.post('/v1/track', { userId, event: order });
    await eventually(
      async () => (await statuses()).join() === 'converted',
      20_000,
      'the second order to convert',
    );
  });
});
