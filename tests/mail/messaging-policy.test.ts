import { describe, expect, it } from 'vitest';
import { clientWith, createWorkspace } from '../api/workspaces.js';
import { expectProblem, send } from '../contacts/support.js';
import { eventually, uniqueSuffix } from '../support/engine.js';
import { apiClient } from '../support/http.js';
import { engineWithCapture, type Arrived } from './support.js';

const DEFAULTS = {
  quietHours: null,
  sendDays: null,
  fallbackTimezone: 'UTC',
  frequencyCap: null,
  transactional: ['transactional'],
  trackOpens: false,
  trackClicks: false,
  from: null,
  replyTo: null,
};

/**
 * The workspace's sending rules through the API: read with a write key, set with an admin
 * key, checked field by field, and obeyed by the journeys' sends on Temporal (SMTP in the test
 * process).
 */
describe('messaging policy API', () => {
  const suite = engineWithCapture('embedded');
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

  it('reads the defaults, refuses bad rules without changing anything, and sets good ones', async () => {
    const ws = await createWorkspace(apiClient(suite.engine), `Policy ${uniqueSuffix()}`);
    expect((await ws.api.get('/v1/messaging-policy')).body).toEqual(DEFAULTS);
    const { key } = (await ws.api.post('/v1/api-keys', { name: 'writer', scope: 'write' }))
      .body as { key: string };
    const writer = clientWith(ws.api, { authorization: `Bearer ${key}` });
    expect((await writer.get('/v1/messaging-policy')).status).toBe(200);
    expect((await send(writer, 'PUT', '/v1/messaging-policy', { trackOpens: true })).status).toBe(
      403,
    );

    const bad = await send(ws.api, 'PUT', '/v1/messaging-policy', {
      fallbackTimezone: 'Mars/Olympus',
      quietHours: { start: '22:00', end: '22:00' },
      frequencyCap: { count: 3, per: 'PT10S' },
      from: 'not an address',
    });
    expectProblem(bad, ['/fallbackTimezone', '/quietHours/end', '/frequencyCap/per', '/from']);
    expectProblem(
      await send(ws.api, 'PUT', '/v1/messaging-policy', { sendDays: ['funday'], cap: 3 }),
      ['/sendDays', '/cap'],
    );
    expect((await ws.api.get('/v1/messaging-policy')).body).toEqual(DEFAULTS);

    const rules = {
      quietHours: { start: '21:00', end: '08:00' },
      sendDays: ['mon', 'tue', 'wed', 'thu', 'fri'],
      fallbackTimezone: 'Europe/London',
      frequencyCap: { count: 3, per: 'P7D' },
      transactional: ['transactional', 'receipts'],
      trackOpens: true,
      trackClicks: true,
      from: 'Example News <news@example.com>',
      replyTo: 'help@example.com',
    };
    const set = await send(ws.api, 'PUT', '/v1/messaging-policy', rules);
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual(rules);
    expect((await ws.api.get('/v1/messaging-policy')).body).toEqual(rules);
    // PUT sets the whole policy: what is left out goes back to its default.
    const fewer = await send(ws.api, 'PUT', '/v1/messaging-policy', { trackOpens: true });
    expect(fewer.body).toEqual({ ...DEFAULTS, trackOpens: true });
  });

  it('holds a journey’s email in quiet hours set through the API, and sends from its sender', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Quiet ${s}`);
    const published = await ws.api.post('/v1/journeys', {
      id: `hello-${s}`,
      name: 'Hello',
      triggers: [{ type: 'event', event: `joined_${s}` }],
      steps: [{ id: 'hello', type: 'sendEmail', template: 'welcome' }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const now = Date.now();
    const quiet = { start: hhmm(now - 3_600_000), end: hhmm(now + 3_600_000) };
    expect(
      (
        await send(ws.api, 'PUT', '/v1/messaging-policy', {
          quietHours: quiet,
          from: 'Quiet Co <hello@quiet.example>',
        })
      ).status,
    ).toBe(200);
    const held = `held.${s}@example.com`;
    await ws.api.post('/v1/identify', { userId: `held-${s}`, traits: { email: held } });
    // Senders read the policy anew within 2 seconds.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await ws.api.post('/v1/track', { userId: `held-${s}`, event: `joined_${s}` });
    const log = await eventually(
      async () => {
        const row = await suite.engine.deps.prisma.sendDeferral.findFirst({
          where: { workspaceId: ws.id },
        });
        return row ?? undefined;
      },
      15_000,
      'the send to be held',
    );
    expect(log.reason).toBe('quietHours');
    expect(suite.capture.to(held)).toHaveLength(0);

    // Without quiet hours, the next contact's email goes at once, from the workspace's sender.
    expect(
      (
        await send(ws.api, 'PUT', '/v1/messaging-policy', {
          from: 'Quiet Co <hello@quiet.example>',
        })
      ).status,
    ).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const free = `free.${s}@example.com`;
    await ws.api.post('/v1/identify', { userId: `free-${s}`, traits: { email: free } });
    await ws.api.post('/v1/track', { userId: `free-${s}`, event: `joined_${s}` });
    const [mail] = await suite.capture.waitFor(free);
    expect(mail?.parsed.from?.value[0]).toMatchObject({
      name: 'Quiet Co',
      address: 'hello@quiet.example',
    });
  });

  it('leaves the workspace’s own transactional categories off the preferences page', async () => {
    const s = uniqueSuffix();
    const ws = await createWorkspace(apiClient(suite.engine), `Receipts ${s}`);
    expect(
      (
        await send(ws.api, 'PUT', '/v1/messaging-policy', {
          transactional: ['transactional', 'receipts'],
        })
      ).status,
    ).toBe(200);
    const published = await ws.api.post('/v1/journeys', {
      id: `order-${s}`,
      name: 'Order',
      triggers: [{ type: 'event', event: `ordered_${s}` }],
      steps: [
        { id: 'receipt', type: 'sendEmail', template: 'welcome', category: 'receipts' },
        { id: 'news', type: 'sendEmail', template: 'tips', category: 'news' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const email = `buyer.${s}@example.com`;
    await ws.api.post('/v1/identify', { userId: `buyer-${s}`, traits: { email } });
    await ws.api.post('/v1/track', { userId: `buyer-${s}`, event: `ordered_${s}` });
    const mails = await suite.capture.waitFor(email, 2);
    const news = mails.find((m) => unsubscribePath(m) !== null);
    const path = unsubscribePath(news);
    if (!path) throw new Error('the news email has no List-Unsubscribe link');
    const page = await (await fetch(`${ws.api.baseUrl}${path}/preferences`)).text();
    expect(page).toContain('value="news"');
    expect(page).not.toContain('value="receipts"');
  });
});

/** The path of an email's List-Unsubscribe link (`/u/TOKEN`), or null without one. */
function unsubscribePath(mail: Arrived | undefined): string | null {
  const raw = (mail?.raw ?? '').replace(/\r\n[ \t]+/g, ' ');
  const link = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(raw)?.[1];
  return link ? new URL(link).pathname : null;
}
