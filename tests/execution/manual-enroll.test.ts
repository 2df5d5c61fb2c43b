import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf } from '../support/mailbox.js';

/**
 * `POST /v1/journeys/{key}/enrollments` enrolls a contact by hand: how a journey with a `manual`
 * trigger is entered at all. The journey's entry rules decide, as for any trigger; what cannot
 * be done is a problem+json that names why, and enrolls nobody.
 */
describe('enrolling a contact by hand', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('enrolls into a manual journey once, with the properties the request gives', async () => {
    const s = uniqueSuffix();
    const key = `vip-${s}`;
    const published = await api.post('/v1/journeys', {
      id: key,
      name: 'VIP welcome',
      triggers: [{ type: 'manual' }],
      steps: [
        {
          id: 'hello',
          type: 'sendEmail',
          template: 'welcome',
          subject: 'Your {{event.properties.plan}} plan',
        },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const userId = `vip-${s}`;
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });

    const enrolled = await api.post(`/v1/journeys/${key}/enrollments`, {
      contact: userId,
      properties: { plan: 'Gold' },
    });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
    expect(enrolled.body).toMatchObject({ enrolled: true });
    const mail = await eventually(
      async () => {
        const found = await mailboxOf(api, `${userId}@example.com`);
        return found.length > 0 ? found : undefined;
      },
      20_000,
      'the email of the enrollment',
    );
    expect(mail.map((m) => m.subject)).toEqual(['Your Gold plan']);

    // Entered once (the default re-entry): a second try is refused, naming why.
    const again = await api.post(`/v1/journeys/${key}/enrollments`, { contact: userId });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      title: 'Not enrolled',
      errors: [{ pointer: '/contact', code: 'already-enrolled' }],
    });
    const listed = (await api.get(`/v1/journeys/${key}/enrollments`)).body as { data: unknown[] };
    expect(listed.data).toHaveLength(1);
  });

  it('refuses an unknown contact or journey, a paused journey and a bad body', async () => {
    const s = uniqueSuffix();
    const key = `held-${s}`;
    expect(
      (
        await api.post('/v1/journeys', {
          id: key,
          name: 'Held',
          triggers: [{ type: 'manual' }],
          steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
        })
      ).status,
    ).toBe(201);
    const userId = `held-${s}`;
    await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });

    const unknown = await api.post(`/v1/journeys/${key}/enrollments`, { contact: `nobody-${s}` });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({
      errors: [{ pointer: '/contact', code: 'unknown-contact' }],
    });
    expect((await api.post(`/v1/journeys/nope-${s}/enrollments`, { contact: userId })).status).toBe(
      404,
    );
    const bad = await api.post(`/v1/journeys/${key}/enrollments`, { who: userId });
    expect(bad.status).toBe(422);
    expect(bad.contentType).toContain('application/problem+json');

    expect((await api.post(`/v1/journeys/${key}/pause`, {})).status).toBe(200);
    const paused = await api.post(`/v1/journeys/${key}/enrollments`, { contact: userId });
    expect(paused.status).toBe(409);
    expect(paused.body).toMatchObject({ title: 'Journey not active' });
    const listed = (await api.get(`/v1/journeys/${key}/enrollments`)).body as { data: unknown[] };
    expect(listed.data).toEqual([]);
  });
});
