import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

interface ScoreBody {
  scores: {
    model: string;
    engagement: number;
    explanation: { engagement: { rule: string; events: number; points: number }[] };
  }[];
}

/**
 * Unsubscribing end to end through real parts: a journey on Temporal sends a marketing email
 * to the engine's SMTP sink; the one-click POST to its List-Unsubscribe URL (as a mailbox
 * provider sends it) suppresses the address in one request, is recorded as `email.unsubscribed`
 * (which the default scoring model scores), and ends the enrollment through its suppression
 * rule before the next email.
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

  it('one-click unsubscribe stops the journey and every later marketing email, and costs 30 points', async () => {
    const suffix = uniqueSuffix();
    const event = `signed_up_${suffix}`;
    // The default scoring model, under an id of this test's own (the workspace is shared).
    const defaultModel = JSON.parse(
      await readFile(new URL('../../examples/default-scoring-model.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    const model = `default-${suffix}`;
    const scoring = await api.post('/v1/scoring-models', { ...defaultModel, id: model });
    expect(scoring.status, JSON.stringify(scoring.body)).toBe(201);
    const scoreOf = async () => {
      const res = await api.get(`/v1/contacts/u-${suffix}/score`);
      expect(res.status).toBe(200);
      return (res.body as ScoreBody).scores.find((s) => s.model === model);
    };
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

    const [message] = await waitForMail(api, email);
    const before = await scoreOf();
    expect(before?.explanation.engagement.map((r) => r.rule)).not.toContain('unsubscribed');
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
      await prisma.event.findMany({ where: { contactId: contact.id, name: 'email.unsubscribed' } }),
    ).toHaveLength(1);
    // The default model's `unsubscribed` rule (on `email.unsubscribed`) takes its 30 points off.
    const after = await scoreOf();
    expect(after?.explanation.engagement.find((r) => r.rule === 'unsubscribed')).toMatchObject({
      events: 1,
      points: -30,
    });
    expect((before?.engagement ?? NaN) - (after?.engagement ?? NaN)).toBeCloseTo(30, 3);
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
