import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseVariants, eventually, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient } from '../support/http.js';

interface Source {
  readonly id: string;
  readonly secret: string;
}

/**
 * Inbound webhook calls on the real engine (Temporal dev server, each database): which journeys
 * they start, what a redelivery may change, and which payloads are refused before anything is
 * written.
 */
describe.each(databaseVariants())('inbound webhook calls (%s)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;

  beforeAll(async () => {
    engine = await startTestEngine(variant);
    api = apiClient(engine);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  async function createSource(name: string, mapping: Record<string, unknown>): Promise<Source> {
    const created = await api.post('/v1/webhook-sources', {
      name,
      verification: 'standard-webhooks',
      mapping,
    });
    expect(created.status).toBe(201);
    return created.body as Source;
  }

  /** A call signed as a Standard Webhooks sender signs it; `id` is its `webhook-id`. */
  async function call(source: Source, id: string, payload: unknown) {
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    const key = Buffer.from(source.secret.replace(/^whsec_/, ''), 'base64');
    const signature = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    const res = await fetch(`${api.baseUrl}/v1/hooks/${source.id}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': `v1,${signature}`,
      },
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as unknown };
  }

  const contactOf = (userId: string) => engine.deps.prisma.contact.findFirst({ where: { userId } });
  const enrollmentsOf = (userId: string, journeyKey: string) =>
    engine.deps.prisma.enrollment.findMany({
      where: { contact: { userId }, journeyVersion: { journey: { key: journeyKey } } },
    });

  it('enrolls the contact of a call to the source a webhook trigger names, and not of a call to another source', async () => {
    const s = uniqueSuffix();
    const mapping = {
      event: 'billing_{{/type}}',
      userId: '/customer',
      properties: { amount: '/amount' },
    };
    // Named in another case than the trigger's: source names are compared ignoring case.
    const stripe = await createSource(`Stripe-${s}`, mapping);
    const other = await createSource(`paddle-${s}`, mapping);
    const journey = `on-stripe-${s}`;
    const published = await api.post('/v1/journeys', {
      id: journey,
      name: 'Thank paying customers',
      triggers: [
        {
          type: 'webhook',
          source: `stripe-${s}`,
          filter: { type: 'gte', field: 'event.amount', value: 10 },
        },
      ],
      steps: [{ id: 'hold', type: 'wait', duration: 'PT1H' }],
    });
    expect(published.status).toBeLessThan(300);

    const paying = `cus-pay-${s}`;
    expect(
      (await call(stripe, `msg_a_${s}`, { type: 'paid', customer: paying, amount: 49 })).status,
    ).toBe(202);
    const enrolled = await eventually(
      async () => {
        const found = await enrollmentsOf(paying, journey);
        return found.length > 0 ? found : undefined;
      },
      20_000,
      'the enrollment of the stripe call',
    );
    expect(enrolled).toHaveLength(1);
    const event = await engine.deps.prisma.event.findFirstOrThrow({
      where: { userId: paying, type: 'track' },
    });
    expect(event.properties).toEqual({ amount: 49, $webhookSource: `Stripe-${s}` });

    // A call to another source, and one the trigger's filter refuses, enroll no one. Routing
    // is done before the 202, so their enrollments would exist by now.
    const elsewhere = `cus-other-${s}`;
    const small = `cus-small-${s}`;
    expect(
      (await call(other, `msg_b_${s}`, { type: 'paid', customer: elsewhere, amount: 49 })).status,
    ).toBe(202);
    expect(
      (await call(stripe, `msg_c_${s}`, { type: 'paid', customer: small, amount: 5 })).status,
    ).toBe(202);
    expect(await contactOf(elsewhere)).not.toBeNull();
    expect(await contactOf(small)).not.toBeNull();
    expect(await enrollmentsOf(elsewhere, journey)).toEqual([]);
    expect(await enrollmentsOf(small, journey)).toEqual([]);

    // An API client cannot pose as the source: the reserved property is dropped from a track
    // and from a batch's messages.
    const posing = `cus-posing-${s}`;
    const claim = { amount: 49, $webhookSource: `stripe-${s}` };
    expect(
      (await api.post('/v1/track', { userId: posing, event: 'billing_paid', properties: claim }))
        .status,
    ).toBe(200);
    const batch = [{ type: 'track', userId: posing, event: 'billing_paid', properties: claim }];
    expect((await api.post('/v1/batch', { batch })).status).toBe(200);
    expect(await enrollmentsOf(posing, journey)).toEqual([]);
    const stored = await engine.deps.prisma.event.findMany({ where: { userId: posing } });
    expect(stored.map((e) => e.properties)).toEqual(stored.map(() => ({ amount: 49 })));
  });

  it('does not apply the traits of a redelivered call over what the contact was told since', async () => {
    const s = uniqueSuffix();
    const source = await createSource(`billing-${s}`, {
      event: 'plan_changed',
      userId: '/customer',
      traits: { plan: '/plan' },
    });
    const customer = `cus-${s}`;
    const payload = { customer, plan: 'pro' };
    expect(await call(source, `msg_pro_${s}`, payload)).toMatchObject({
      status: 202,
      body: { stored: true },
    });
    expect((await api.get(`/v1/contacts/${customer}`)).body).toMatchObject({ plan: 'pro' });

    const upgraded = await api.post('/v1/identify', {
      userId: customer,
      traits: { plan: 'enterprise' },
    });
    expect(upgraded.status).toBe(200);

    // The billing system did not see the first 2xx in time and delivers the call again.
    expect(await call(source, `msg_pro_${s}`, payload)).toMatchObject({
      status: 202,
      body: { stored: false },
    });
    expect((await api.get(`/v1/contacts/${customer}`)).body).toMatchObject({ plan: 'enterprise' });
  });

  it('does not apply the traits of a retried identify or batch over what the contact was told since', async () => {
    const s = uniqueSuffix();
    const userId = `u-${s}`;
    const pro = { userId, messageId: `id-pro-${s}`, traits: { plan: 'pro' } };
    expect((await api.post('/v1/identify', pro)).body).toMatchObject({ stored: true });
    const enterprise = { userId, messageId: `id-ent-${s}`, traits: { plan: 'enterprise' } };
    expect((await api.post('/v1/identify', enterprise)).body).toMatchObject({ stored: true });

    // A Segment client retries the first message, whose answer it lost.
    expect((await api.post('/v1/identify', pro)).body).toMatchObject({ stored: false });
    expect((await api.get(`/v1/contacts/${userId}`)).body).toMatchObject({ plan: 'enterprise' });

    const retried = await api.post('/v1/batch', { batch: [{ type: 'identify', ...pro }] });
    expect(retried.status).toBe(200);
    expect((await api.get(`/v1/contacts/${userId}`)).body).toMatchObject({ plan: 'enterprise' });
  });

  it('refuses a template whose pointer is missing with a 422 naming it, storing nothing', async () => {
    const s = uniqueSuffix();
    const source = await createSource(`stripe-ids-${s}`, {
      event: 'billing_{{/type}}',
      userId: 'stripe_{{/data/customer}}',
      traits: { plan: '/data/plan' },
    });
    const refused = await call(source, `msg_${s}`, { type: 'paid', data: { plan: 'pro' } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ errors: [{ pointer: '/data/customer' }] });
    const noType = await call(source, `msg2_${s}`, { data: { customer: `cus-${s}` } });
    expect(noType.status).toBe(422);
    expect(noType.body).toMatchObject({ errors: [{ pointer: '/type' }] });
    expect(await contactOf('stripe_')).toBeNull();
    expect(await contactOf(`stripe_cus-${s}`)).toBeNull();
    expect(await engine.deps.prisma.event.count({ where: { messageId: { contains: s } } })).toBe(0);
  });

  it('reads a millisecond timestamp, and refuses one out of range before writing anything', async () => {
    const s = uniqueSuffix();
    const source = await createSource(`clock-${s}`, {
      event: 'signed_up',
      userId: '/customer',
      timestamp: '/created',
      traits: { plan: '/plan' },
    });
    const now = Date.now();
    const inMs = `cus-ms-${s}`;
    expect(
      (await call(source, `msg_ms_${s}`, { customer: inMs, created: now, plan: 'pro' })).status,
    ).toBe(202);
    const stored = await engine.deps.prisma.event.findFirstOrThrow({
      where: { userId: inMs, type: 'track' },
    });
    expect(stored.timestamp.getTime()).toBe(now);

    const late = `cus-late-${s}`;
    const refused = await call(source, `msg_late_${s}`, {
      customer: late,
      created: '+010000-01-01T00:00:00Z',
      plan: 'pro',
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ errors: [{ pointer: '/created' }] });
    expect(await contactOf(late)).toBeNull();
  });

  it('attaches a call naming only an email to the contact that has that email', async () => {
    const s = uniqueSuffix();
    const userId = `u-${s}`;
    const identified = await api.post('/v1/identify', {
      userId,
      traits: { email: `Ana-${s}@Example.com`, firstName: 'Ana' },
    });
    expect(identified.status).toBe(200);
    const source = await createSource(`forms-${s}`, {
      event: 'form_submitted',
      email: '/email',
      traits: { company: '/company' },
    });

    // The same address, in another case and with spaces around it.
    const sent = await call(source, `msg_${s}`, {
      email: `  ana-${s}@example.com `,
      company: 'Acme',
    });
    expect(sent.status).toBe(202);
    const contact = await engine.deps.prisma.contact.findFirstOrThrow({ where: { userId } });
    const event = await engine.deps.prisma.event.findFirstOrThrow({
      where: { messageId: `msg_${s}` },
    });
    expect(event.contactId).toBe(contact.id);
    expect(contact.attributes).toMatchObject({ firstName: 'Ana', company: 'Acme' });
    expect(
      await engine.deps.prisma.contact.count({ where: { emailKey: `ana-${s}@example.com` } }),
    ).toBe(1);
    expect(
      await engine.deps.prisma.contact.count({
        where: { userId: { contains: `ana-${s}@`, mode: 'insensitive' } },
      }),
    ).toBe(0);

    // An address no contact has makes a contact, as before: the address is its user id.
    const stranger = `bo-${s}@example.com`;
    expect((await call(source, `msg2_${s}`, { email: stranger, company: 'Initech' })).status).toBe(
      202,
    );
    expect((await api.get(`/v1/contacts/${stranger}`)).body).toMatchObject({
      email: stranger,
      company: 'Initech',
    });
  });

  it('takes a call whose webhook-id is longer than a message id, once however often it comes', async () => {
    const s = uniqueSuffix();
    const source = await createSource(`long-ids-${s}`, { event: 'pinged', userId: '/customer' });
    // Random, so that the database cannot compress it below its index's row limit.
    const id = randomBytes(2_250).toString('base64url');
    const customer = `cus-long-${s}`;
    for (let i = 0; i < 2; i++) expect((await call(source, id, { customer })).status).toBe(202);
    const events = await engine.deps.prisma.event.findMany({ where: { userId: customer } });
    expect(events).toHaveLength(1);
  });
});
