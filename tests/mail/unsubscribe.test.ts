import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface MailSummary {
  id: string;
  subject: string | null;
  to: string[];
}

/**
 * Unsubscribing end to end through real parts: a journey on Temporal sends a marketing email
 * to the engine's SMTP sink; the one-click POST to its List-Unsubscribe URL (as a mailbox
 * provider sends it) suppresses the address in one request, is recorded as an event, and ends
 * the enrollment through its suppression rule before the next email.
 */
describe.each(databaseVariants())('unsubscribe flow (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  it('one-click unsubscribe stops the journey and every later marketing email', async () => {
    const suffix = uniqueSuffix();
    const event = `signed_up_${suffix}`;
    const published = await api.post('/v1/journeys', {
      id: `unsub-${suffix}`,
      name: 'Unsubscribe test',
      triggers: [{ type: 'event', event }],
      suppression: [{ type: 'contains', field: 'tags', value: 'unsubscribed' }],
      steps: [
        { id: 'welcome', type: 'sendEmail', template: 'welcome' },
        { id: 'pause', type: 'wait', duration: 'PT1H' },
        { id: 'tips', type: 'sendEmail', template: 'tips' },
      ],
    });
    expect(published.status).toBe(201);
    const email = `grace.${suffix}@example.com`;
    expect(
      (
        await api.post('/v1/identify', {
          userId: `u-${suffix}`,
          traits: { email, firstName: 'Grace' },
        })
      ).status,
    ).toBe(200);
    expect((await api.post('/v1/track', { userId: `u-${suffix}`, event })).status).toBe(200);

    const [message] = await eventually(async () => {
      const res = await api.get(`/v1/mailbox?to=${encodeURIComponent(email)}`);
      const data = (res.body as { data: MailSummary[] }).data;
      return data.length > 0 ? data : null;
    });
    const raw = await (await api.request('GET', `/v1/mailbox/${message?.id ?? ''}/raw`)).text();
    const unfolded = raw.replace(/\r\n[ \t]+/g, ' ');
    expect(unfolded).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const link = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(unfolded)?.[1] ?? '';
    const path = new URL(link).pathname;

    // A link checker's GET changes nothing; it shows a page with one button.
    const page = await fetch(`${api.baseUrl}${path}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(email);

    // RFC 8058: the provider POSTs this form body, with no cookies and no API key.
    const oneClick = await fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);

    const prisma = engine.deps.prisma;
    const contact = await prisma.contact.findFirstOrThrow({ where: { emailKey: email } });
    expect(await prisma.suppression.findMany({ where: { emailKey: email } })).toMatchObject([
      { reason: 'unsubscribed', scope: '*', source: 'one-click' },
    ]);
    expect(
      await prisma.event.findMany({ where: { contactId: contact.id, name: 'unsubscribed' } }),
    ).toHaveLength(1);
    const enrollment = await eventually(
      async () => {
        const e = await prisma.enrollment.findFirst({ where: { contactId: contact.id } });
        return e?.status === 'exited' ? e : null;
      },
      15_000,
      'the enrollment to exit',
    );
    expect(enrollment.status).toBe('exited');

    // A forged token is refused.
    const forged = await fetch(`${api.baseUrl}${path.slice(0, -3)}abc`, { method: 'POST' });
    expect(forged.status).toBe(404);
  });
});
