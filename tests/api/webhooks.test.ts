import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { clientWith } from './workspaces.js';
import { eventsIngested } from '../../metrics/index.js';

/** A billing system's payload, signed as a Standard Webhooks sender signs it. */
function signStandard(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

describe.each(databaseVariants())('inbound webhooks (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let anonymous: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
    anonymous = clientWith(api, {});
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  const billingMapping = {
    event: 'billing_{{/type}}',
    userId: '/data/customer/id',
    email: '/data/customer/email',
    traits: { plan: '/data/plan' },
    properties: { amount: '/data/amount', currency: '/data/currency' },
  };

  it('turns a signed payload into a contact and an event, once, and refuses replays and forgeries', async () => {
    const created = await api.post('/v1/webhook-sources', {
      name: 'Billing',
      verification: 'standard-webhooks',
      mapping: billingMapping,
    });
    expect(created.status).toBe(201);
    const source = created.body as { id: string; secret: string; url: string };
    expect(source.secret).toMatch(/^whsec_/);
    expect(JSON.stringify((await api.get(`/v1/webhook-sources/${source.id}`)).body)).not.toContain(
      source.secret,
    );

    const customer = `cus-${uniqueSuffix()}`;
    const body = JSON.stringify({
      type: 'payment_succeeded',
      data: {
        customer: { id: customer, email: `${customer}@example.com` },
        plan: 'pro',
        amount: 49,
        currency: 'EUR',
      },
    });
    const now = Math.floor(Date.now() / 1000);
    const send = (headers: Record<string, string>, payload = body) =>
      anonymous.request('POST', `/v1/hooks/${source.id}`, {
        body: payload,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const headers = (id: string, ts: number, payload = body) => ({
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandard(source.secret, id, ts, payload),
    });

    const before = await ingestedBySource();
    const first = await send(headers('msg_1', now));
    expect(first.status).toBe(202);
    // Each stored event is counted once, as a webhook event.
    const stored = await engine.deps.prisma.event.count({ where: { userId: customer } });
    expect(stored).toBeGreaterThan(0);
    const after = await ingestedBySource();
    expect({ api: after.api - before.api, webhook: after.webhook - before.webhook }).toEqual({
      api: 0,
      webhook: stored,
    });
    const contact = await api.get(`/v1/contacts/${customer}`);
    expect(contact.body).toMatchObject({ email: `${customer}@example.com`, plan: 'pro' });
    const events = await engine.deps.prisma.event.findMany({
      where: { userId: customer, type: 'track' },
    });
    expect(events).toMatchObject([
      { name: 'billing_payment_succeeded', properties: { amount: 49, currency: 'EUR' } },
    ]);

    // The same delivery again (a retry or a replay inside the tolerance) is stored once.
    expect(((await (await send(headers('msg_1', now))).json()) as { stored: boolean }).stored).toBe(
      false,
    );
    // Outside the tolerance, a captured request cannot be replayed.
    expect((await send(headers('msg_2', now - 600))).status).toBe(401);
    // A forged signature, a tampered body and an unknown source all get the same 401.
    expect((await send({ ...headers('msg_3', now), 'webhook-signature': 'v1,AAAA' })).status).toBe(
      401,
    );
    expect((await send(headers('msg_4', now), body.replace('49', '1'))).status).toBe(401);
    const unknown = await anonymous.request(
      'POST',
      `/v1/hooks/00000000-0000-7000-8000-000000000000`,
      {
        body,
        headers: { 'content-type': 'application/json', ...headers('msg_5', now) },
      },
    );
    expect(unknown.status).toBe(401);
    expect(
      await engine.deps.prisma.event.count({ where: { userId: customer, type: 'track' } }),
    ).toBe(1);
  });

  it('verifies a plain HMAC header, and explains a payload the mapping cannot use', async () => {
    const created = await api.post('/v1/webhook-sources', {
      name: 'Form tool',
      verification: 'hmac-sha256',
      signatureHeader: 'X-Form-Signature',
      mapping: {
        event: 'form_submitted',
        email: '/fields/email',
        traits: { firstName: '/fields/name' },
      },
    });
    const source = created.body as { id: string; secret: string };
    const email = `form-${uniqueSuffix()}@example.com`;
    const post = (payload: unknown) => {
      const text = JSON.stringify(payload);
      const signature = `sha256=${createHmac('sha256', source.secret).update(text).digest('hex')}`;
      return anonymous.request('POST', `/v1/hooks/${source.id}`, {
        body: text,
        headers: { 'content-type': 'application/json', 'x-form-signature': signature },
      });
    };
    expect((await post({ fields: { email, name: 'Ana' } })).status).toBe(202);
    expect((await api.get(`/v1/contacts/${encodeURIComponent(email)}`)).body).toMatchObject({
      firstName: 'Ana',
    });

    const missing = await post({ fields: { name: 'Nobody' } });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe(
      '/fields/email',
    );

    expect((await api.request('DELETE', `/v1/webhook-sources/${source.id}`)).status).toBe(200);
    expect((await post({ fields: { email, name: 'Ana' } })).status).toBe(401);
  });

  it('rejects a mapping that is not one', async () => {
    const res = await api.post('/v1/webhook-sources', {
      name: 'x',
      verification: 'md5',
      mapping: { userId: 7 },
    });
    expect(res.status).toBe(422);
    const pointers = (res.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining(['/verification', '/mapping/userId', '/mapping/event']),
    );
  });
});

/** `drumbeat_events_ingested_total` summed per source (the registry is per test process). */
async function ingestedBySource(): Promise<{ api: number; webhook: number }> {
  const { values } = await eventsIngested.get();
  const sum = (source: string) =>
    values.filter((v) => v.labels.source === source).reduce((n, v) => n + v.value, 0);
  return { api: sum('api'), webhook: sum('webhook') };
}
