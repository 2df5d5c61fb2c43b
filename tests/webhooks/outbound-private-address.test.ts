import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.js';
import { eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface EnrollmentBody {
  status: string;
  log: { kind: string; stepId: string | null; detail: { error?: string } }[];
}

/**
 * A journey's webhook may not reach the engine's own network: with
 * WEBHOOK_ALLOW_PRIVATE_NETWORKS off (the default), a call to 127.0.0.1 fails for good at once,
 * with a message a marketer understands, and the receiver never hears of it.
 */
describe('webhook to a private address', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let server: Server;
  let url = '';
  let calls = 0;

  beforeAll(async () => {
    engine = await startTestEngine('embedded', { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' });
    api = apiClient(engine);
    server = createServer((_req, res) => {
      calls += 1;
      res.statusCode = 200;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await engine?.cleanup();
  });

  it('fails the step for good without calling, and says why', async () => {
    const suffix = uniqueSuffix();
    const event = `signed_up_${suffix}`;
    const published = await api.post('/v1/journeys', {
      id: `internal-${suffix}`,
      name: 'Poke an internal service',
      triggers: [{ type: 'event', event }],
      steps: [{ id: 'poke', type: 'webhook', url, method: 'DELETE', body: {} }],
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    await api.post('/v1/identify', {
      userId: `u-${suffix}`,
      traits: { email: `poke.${suffix}@example.com` },
    });
    await api.post('/v1/track', { userId: `u-${suffix}`, event });

    const enrollment = await eventually(
      () =>
        engine.deps.prisma.enrollment.findFirst({
          where: { journeyVersion: { journey: { key: `internal-${suffix}` } } },
        }),
      20_000,
      'the contact to enter the journey',
    );
    const failed = await eventually(
      async () => {
        const body = (await api.get(`/v1/enrollments/${encodeURIComponent(enrollment.id)}`))
          .body as EnrollmentBody;
        return body.status === 'failed' ? body : undefined;
      },
      20_000,
      'the webhook step to fail',
    );
    expect(failed.log).toContainEqual(
      expect.objectContaining({
        kind: 'actionFailed',
        stepId: 'poke',
        detail: expect.objectContaining({
          error:
            "The webhook's address 127.0.0.1 points to a private network address; webhooks may only call public addresses. An administrator can allow private addresses with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true.",
        }) as unknown,
      }),
    );
    // Failed at the first attempt: after retries the message would be "Calling ... failed 5 times".
    expect(calls).toBe(0);
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_NETWORKS', () => {
  const secret = { SECRET_KEY: 'k'.repeat(40) };

  it('is off unless set to true', () => {
    expect(loadConfig(secret).webhookAllowPrivateNetworks).toBe(false);
    expect(
      loadConfig({ ...secret, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' })
        .webhookAllowPrivateNetworks,
    ).toBe(false);
    expect(
      loadConfig({ ...secret, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'TRUE' }).webhookAllowPrivateNetworks,
    ).toBe(true);
  });

  it('refuses to start on a value that is neither true nor false', () => {
    expect(() => loadConfig({ ...secret, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ ...secret, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes' })).toThrow(
      'WEBHOOK_ALLOW_PRIVATE_NETWORKS=yes must be one of true, false.',
    );
  });
});
