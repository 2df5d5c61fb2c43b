import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { waitForMail } from '../support/mailbox.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Outbound webhooks from a journey on Temporal: a templated JSON body signed with the Standard
 * Webhooks scheme (verified here the way a receiver would, with the `whsec_` secret), a 5xx
 * retried with backoff, and the final status choosing the branch.
 */
describe('webhook action', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let server: Server;
  let url = '';
  const received: Received[] = [];
  const answers: number[] = [];

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = answers.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await engine?.cleanup();
  });

  it('signs the templated body, retries a 503, and branches on the final 409', async () => {
    const suffix = uniqueSuffix();
    const event = `qualified_${suffix}`;
    answers.push(503, 409);
    const published = await api.post('/v1/journeys', {
      id: `crm-${suffix}`,
      name: 'Tell the CRM',
      triggers: [{ type: 'event', event }],
      steps: [
        {
          id: 'tell-crm',
          type: 'webhook',
          url,
          method: 'POST',
          headers: { 'x-source': 'drumbeat' },
          body: { email: '{{contact.email}}', plan: '{{event.properties.plan}}' },
          onStatus: [{ from: 400, to: 499, next: 'rejected' }],
          next: 'accepted',
        },
        { id: 'accepted', type: 'sendEmail', template: 'welcome', next: 'done' },
        { id: 'rejected', type: 'sendEmail', template: 'tips', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    const email = `crm.${suffix}@example.com`;
    await api.post('/v1/identify', { userId: `u-${suffix}`, traits: { email, firstName: 'Lin' } });
    await api.post('/v1/track', { userId: `u-${suffix}`, event, properties: { plan: 'Pro' } });

    const mail = await waitForMail(api, email, 1, 25_000);
    expect(mail.map((m) => m.subject)).toEqual(['3 tips to get started, Lin']);
    expect(received).toHaveLength(2);

    const { secret } = (await api.get('/v1/webhooks/signing-secret')).body as { secret: string };
    for (const call of received) {
      expect(JSON.parse(call.body)).toEqual({ email, plan: 'Pro' });
      expect(call.headers['x-source']).toBe('drumbeat');
      const id = String(call.headers['webhook-id']);
      const timestamp = String(call.headers['webhook-timestamp']);
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      const expected = createHmac('sha256', key)
        .update(`${id}.${timestamp}.${call.body}`)
        .digest('base64');
      expect(call.headers['webhook-signature']).toBe(`v1,${expected}`);
    }
    // The retry is the same message: receivers deduplicate on webhook-id.
    expect(received[0]?.headers['webhook-id']).toBe(received[1]?.headers['webhook-id']);
  });
});
