import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Received {
  /** When the receiver saw the call, on the clock the engine in this process uses too. */
  readonly at: number;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const WINDOW_MS = 4000;
const LIMIT = 2;
const CONTACTS = 5;

/**
 * A journey's `rateLimit` on outbound webhooks, on Temporal against a real HTTP receiver: calls
 * over the limit are held and made later, never dropped and never repeated, each signed.
 *
 * Why the window check cannot flake: a call takes its slot before it is made, and no slot can
 * be taken before the first event was sent (`start`). So every call that reaches the receiver
 * before `start + k * window` took its slot within k windows of the first slot, and the limit
 * allows at most k * count of those, however slow or fast the machine is.
 */
describe('webhook rate limit per journey', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let server: Server;
  let base = '';
  const received: Received[] = [];

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const id = String(req.headers['webhook-id']);
        // `/flaky` answers 503 to the first delivery of each message, as a busy receiver would.
        const seen = received.some((r) => r.path === path && r.headers['webhook-id'] === id);
        received.push({
          at: Date.now(),
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.statusCode = path === '/flaky' && !seen ? 503 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await engine?.cleanup();
  });

  it(`holds calls over ${LIMIT} per window and makes every one of them exactly once`, async () => {
    const suffix = uniqueSuffix();
    const event = `lead_${suffix}`;
    const published = await api.post('/v1/journeys', {
      id: `limited-${suffix}`,
      name: 'Tell the CRM, gently',
      settings: { rateLimit: { count: LIMIT, per: `PT${WINDOW_MS / 1000}S` } },
      triggers: [{ type: 'event', event }],
      steps: [
        {
          id: 'tell-crm',
          type: 'webhook',
          url: `${base}/crm`,
          method: 'POST',
          body: { email: '{{contact.email}}', lead: '{{event.properties.n}}' },
        },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const people = Array.from({ length: CONTACTS }, (_, n) => ({
      userId: `lead-${n}-${suffix}`,
      email: `lead.${n}.${suffix}@example.com`,
      n,
    }));
    for (const p of people)
      await api.post('/v1/identify', { userId: p.userId, traits: { email: p.email } });

    const start = Date.now();
    const enrollments: string[] = [];
    for (const p of people) {
      const tracked = await api.post('/v1/track', {
        userId: p.userId,
        event,
        properties: { n: p.n },
      });
      const routing = (tracked.body as { routing: { enrollments: { enrollmentId: string }[] } })
        .routing;
      enrollments.push(routing.enrollments[0]?.enrollmentId ?? '');
    }
    expect(enrollments.filter((id) => id !== '')).toHaveLength(CONTACTS);

    // Every enrollment finishes: each call was made (held ones later), none was given up.
    await eventually(
      async () => {
        const done = await engine.deps.prisma.enrollment.count({
          where: { id: { in: enrollments }, status: 'completed' },
        });
        return done === CONTACTS;
      },
      (CONTACTS / LIMIT + 2) * WINDOW_MS + 20_000,
      'every enrollment to complete',
    );

    // Exactly one call per contact: none dropped, none repeated (webhook-id is per enrollment).
    const calls = received.filter((r) => r.path === '/crm');
    expect(calls).toHaveLength(CONTACTS);
    expect(new Set(calls.map((c) => String(c.headers['webhook-id']))).size).toBe(CONTACTS);
    expect(calls.map((c) => (JSON.parse(c.body) as { email: string }).email).sort()).toEqual(
      people.map((p) => p.email).sort(),
    );

    // The limit held: within k windows of the start, at most k * LIMIT calls arrived.
    for (let k = 1; k * LIMIT < CONTACTS; k += 1) {
      const early = calls.filter((c) => c.at < start + k * WINDOW_MS);
      expect(early.length, `calls within ${k} window(s)`).toBeLessThanOrEqual(k * LIMIT);
    }

    // Held calls are signed like any other (Standard Webhooks, the workspace's secret).
    const { secret } = (await api.get('/v1/webhooks/signing-secret')).body as { secret: string };
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    for (const call of calls) {
      const id = String(call.headers['webhook-id']);
      const timestamp = String(call.headers['webhook-timestamp']);
      expect(Number(timestamp)).toBeGreaterThanOrEqual(Math.floor(start / 1000));
      const expected = createHmac('sha256', key)
        .update(`${id}.${timestamp}.${call.body}`)
        .digest('base64');
      expect(call.headers['webhook-signature']).toBe(`v1,${expected}`);
    }

    // The enrollment log shows each call once, with the receiver's answer.
    for (const id of enrollments) {
      const res = await api.get(`/v1/enrollments/${encodeURIComponent(id)}`);
      const log = (
        res.body as { log: { kind: string; stepId: string; detail: { result?: unknown } }[] }
      ).log;
      const actions = log.filter((e) => e.kind === 'action' && e.stepId === 'tell-crm');
      expect(actions.map((e) => e.detail.result)).toEqual([{ type: 'webhook', status: 204 }]);
    }
  });

  it('still retries a 5xx for a call the limit held several times, each retry in its own slot', async () => {
    const suffix = uniqueSuffix();
    const event = `signup_${suffix}`;
    // One call per window: the last of five waits four windows, retried each time it is held.
    const published = await api.post('/v1/journeys', {
      id: `flaky-${suffix}`,
      name: 'Tell a busy CRM',
      settings: { rateLimit: { count: 1, per: 'PT1S' } },
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'tell-crm', type: 'webhook', url: `${base}/flaky`, method: 'POST', body: {} }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const start = Date.now();
    const enrollments: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      const userId = `busy-${n}-${suffix}`;
      await api.post('/v1/identify', { userId, traits: { email: `${userId}@example.com` } });
      const tracked = await api.post('/v1/track', { userId, event });
      const routing = (tracked.body as { routing: { enrollments: { enrollmentId: string }[] } })
        .routing;
      enrollments.push(routing.enrollments[0]?.enrollmentId ?? '');
    }
    const statuses = await eventually(
      async () => {
        const results = await Promise.all(
          enrollments.map(async (id) => {
            const res = await api.get(`/v1/enrollments/${encodeURIComponent(id)}`);
            const log = (res.body as { log: { kind: string; detail: { result?: unknown } }[] }).log;
            return log.find((e) => e.kind === 'action')?.detail.result;
          }),
        );
        return results.every((r) => r !== undefined) ? results : null;
      },
      45_000,
      'every call to settle',
    );
    // The 503 was retried for every call, the most-held one included; nothing was sent twice
    // after it succeeded.
    expect(statuses).toEqual(enrollments.map(() => ({ type: 'webhook', status: 204 })));
    const calls = received.filter((r) => r.path === '/flaky');
    const perMessage = new Map<string, number>();
    for (const c of calls) {
      const id = String(c.headers['webhook-id']);
      perMessage.set(id, (perMessage.get(id) ?? 0) + 1);
    }
    expect([...perMessage.values()]).toEqual(enrollments.map(() => 2));
    // A retry is a call like any other: it waits for a slot too, so the receiver that answered
    // 503 got at most one call a second, retries included.
    for (let k = 1; k < calls.length; k += 1) {
      const early = calls.filter((c) => c.at < start + k * 1000);
      expect(early.length, `calls within ${k} second(s)`).toBeLessThanOrEqual(k);
    }
  });
});
