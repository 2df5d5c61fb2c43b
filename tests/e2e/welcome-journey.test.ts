import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { mailboxOf, waitForMail } from '../support/mailbox.js';

/**
 * The foundation slice, end to end through real parts: a definition submitted to the API and
 * validated, an identify and a track call, a Temporal workflow on the dev server, two emails
 * rendered from templates/ arriving at the SMTP sink in order with the contact's name.
 */
describe.each(databaseVariants())('welcome journey end to end (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('sends welcome, waits PT2S, then sends tips, each addressed to the contact by name', async () => {
    const suffix = uniqueSuffix();
    const definition = JSON.parse(await readFile('examples/welcome-series.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const event = `signed_up_${suffix}`;
    const published = await api.post(`/v1/journeys`, {
      ...definition,
      id: `welcome-${suffix}`,
      triggers: [{ type: 'event', event }],
    });
    expect(published.status).toBe(201);
    expect(published.body).toMatchObject({ version: 1, created: true, status: 'active' });

    const email = `ada.${suffix}@example.com`;
    const identify = await api.post(`/v1/identify`, {
      userId: `user-${suffix}`,
      traits: { email, firstName: 'Ada', lastName: 'Lovelace' },
    });
    expect(identify.status).toBe(200);
    const track = await api.post(`/v1/track`, {
      userId: `user-${suffix}`,
      event,
      properties: { plan: 'Pro' },
    });
    expect(track.status).toBe(200);
    expect(track.body).toMatchObject({
      success: true,
      stored: true,
      routing: { enrollments: [{ enrolled: true }] },
    });

    const mails = await waitForMail(api, email, 2, 30_000);

    const [tips, welcome] = mails; // newest first
    expect(mails).toHaveLength(2);
    expect(welcome?.subject).toBe('Welcome to Drumbeat, Ada!');
    expect(tips?.subject).toBe('3 tips to get started, Ada');
    const gap = Date.parse(tips?.receivedAt ?? '') - Date.parse(welcome?.receivedAt ?? '');
    expect(gap).toBeGreaterThanOrEqual(1900);

    const welcomeHtml = await api
      .request('GET', `/v1/mailbox/${welcome?.id ?? ''}/html`)
      .then((r) => r.text());
    expect(welcomeHtml).toContain('Welcome, Ada!');
    expect(welcomeHtml).toContain('for the Pro plan');
    const welcomeFull = (await api.get(`/v1/mailbox/${welcome?.id ?? ''}`)).body as {
      text: string;
      to: string[];
    };
    expect(welcomeFull.to).toEqual([email]);
    expect(welcomeFull.text).toContain('Welcome, Ada!');

    const contact = await eventually(
      async () => {
        const { body } = await api.get(`/v1/contacts/user-${suffix}`);
        const c = body as { firstName: string; enrollments: { status: string; journey: string }[] };
        return c.enrollments[0]?.status === 'completed' ? c : undefined;
      },
      10_000,
      'the enrollment to complete',
    );
    expect(contact.firstName).toBe('Ada');
    expect(contact.enrollments).toEqual([
      expect.objectContaining({ journey: `welcome-${suffix}`, status: 'completed' }),
    ]);
  });

  it('enrolls a contact once even when the trigger event is sent twice', async () => {
    const suffix = uniqueSuffix();
    const event = `signed_up_${suffix}`;
    await api.post(`/v1/journeys`, {
      id: `once-${suffix}`,
      name: 'Once',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'welcome', type: 'sendEmail', template: 'welcome' }],
    });
    const email = `grace.${suffix}@example.com`;
    await api.post(`/v1/identify`, {
      userId: `g-${suffix}`,
      traits: { email, firstName: 'Grace' },
    });
    const first = await api.post(`/v1/track`, {
      userId: `g-${suffix}`,
      event,
      messageId: `m1-${suffix}`,
    });
    const repeat = await api.post(`/v1/track`, {
      userId: `g-${suffix}`,
      event,
      messageId: `m1-${suffix}`,
    });
    const second = await api.post(`/v1/track`, {
      userId: `g-${suffix}`,
      event,
      messageId: `m2-${suffix}`,
    });
    expect(first.body).toMatchObject({
      stored: true,
      routing: { enrollments: [{ enrolled: true }] },
    });
    expect(repeat.body).toMatchObject({ stored: false });
    expect(second.body).toMatchObject({
      stored: true,
      routing: { enrollments: [{ enrolled: false, reason: 'already-enrolled' }] },
    });

    await waitForMail(api, email);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await mailboxOf(api, email)).toHaveLength(1);
  });
});
