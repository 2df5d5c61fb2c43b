import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientWith, createWorkspace, type OtherWorkspace } from '../api/workspaces.js';
import { databaseVariants, startTestEngine, uniqueSuffix } from '../support/engine.js';
import { apiClient, type ApiClient, type JsonResponse } from '../support/http.js';
import { refusingInserts } from '../support/faults.js';
import { expectProblem, send, type Problem } from './support.js';

interface Subscription {
  category: string;
  status: string;
  changedAt: string | null;
  source: string | null;
}

interface Subscriptions {
  contactId: string;
  changed?: boolean;
  subscriptions: Subscription[];
}

const statuses = (body: unknown) =>
  Object.fromEntries((body as Subscriptions).subscriptions.map((s) => [s.category, s.status]));

describe.each(databaseVariants())('email subscriptions per category (%s database)', (variant) => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let ws: OtherWorkspace;
  let admin: ApiClient;
  let writer: ApiClient;
  beforeAll(async () => {
    engine = await startTestEngine(variant);
    // Its own workspace, so the categories are only this test's.
    ws = await createWorkspace(apiClient(engine), `subscriptions ${uniqueSuffix()}`);
    admin = ws.api;
    const key = (await admin.post('/v1/api-keys', { name: 'writer', scope: 'write' })).body as {
      key: string;
    };
    writer = clientWith(admin, { authorization: `Bearer ${key.key}` });
    const journey = await admin.post('/v1/journeys', {
      id: 'digest',
      name: 'Digest',
      triggers: [{ type: 'event', event: 'never_sent' }],
      steps: [{ id: 'news', type: 'sendEmail', template: 'welcome', category: 'newsletter' }],
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
  });
  afterAll(async () => {
    await engine?.cleanup();
  });

  async function contact(): Promise<{ id: string; userId: string; email: string }> {
    const userId = `s-${uniqueSuffix()}`;
    const email = `${userId}@example.com`;
    await admin.post('/v1/identify', { userId, traits: { email } });
    const { id } = (await admin.get(`/v1/contacts/${userId}`)).body as { id: string };
    return { id, userId, email };
  }

  const set = (api: ApiClient, id: string, category: string, body: unknown) =>
    send(api, 'PUT', `/v1/contacts/${id}/subscriptions/${category}`, body);

  const eventsOf = async (id: string) =>
    (
      (await admin.get(`/v1/contacts/${id}/timeline?limit=200`)).body as {
        data: { kind: string; detail: { name?: string; properties?: Record<string, unknown> } }[];
      }
    ).data
      .filter((i) => i.kind === 'event' && i.detail.name !== null)
      .map((i) => ({ name: i.detail.name, category: i.detail.properties?.category }));

  it('lists every category as subscribed at first, and unsubscribes and re-subscribes one', async () => {
    const c = await contact();
    const first = await writer.get(`/v1/contacts/${c.userId}/subscriptions`);
    expect(first.status).toBe(200);
    expect((first.body as Subscriptions).subscriptions).toEqual([
      { category: 'all', status: 'subscribed', changedAt: null, source: null },
      { category: 'marketing', status: 'subscribed', changedAt: null, source: null },
      { category: 'newsletter', status: 'subscribed', changedAt: null, source: null },
    ]);

    const off = await set(writer, c.id, 'newsletter', { status: 'unsubscribed', source: 'crm' });
    expect(off.status).toBe(200);
    expect((off.body as Subscriptions).changed).toBe(true);
    expect(statuses(off.body)).toEqual({
      all: 'subscribed',
      marketing: 'subscribed',
      newsletter: 'unsubscribed',
    });
    const newsletter = (off.body as Subscriptions).subscriptions[2];
    expect(newsletter?.source).toBe('crm');
    expect(Date.parse(newsletter?.changedAt ?? '')).not.toBeNaN();
    // The same flow as the unsubscribe link: a suppression row and the email.unsubscribed event.
    expect(
      await engine.deps.prisma.suppression.count({
        where: { workspaceId: ws.id, emailKey: c.email, scope: 'newsletter' },
      }),
    ).toBe(1);
    const again = await set(writer, c.id, 'newsletter', { status: 'unsubscribed' });
    expect((again.body as Subscriptions).changed).toBe(false);

    const on = await set(writer, c.id, 'newsletter', { status: 'subscribed' });
    expect((on.body as Subscriptions).changed).toBe(true);
    expect((on.body as Subscriptions).subscriptions[2]).toMatchObject({
      category: 'newsletter',
      status: 'subscribed',
      source: 'api',
    });
    expect(
      await engine.deps.prisma.suppression.count({
        where: { workspaceId: ws.id, emailKey: c.email },
      }),
    ).toBe(0);
    expect(await eventsOf(c.id)).toEqual([
      { name: 'email.subscribed', category: 'newsletter' },
      { name: 'email.unsubscribed', category: 'newsletter' },
    ]);
  });

  it('turning one category back on after unsubscribing from everything keeps the others off', async () => {
    const c = await contact();
    const off = await set(writer, c.id, 'all', { status: 'unsubscribed' });
    expect(statuses(off.body)).toEqual({
      all: 'unsubscribed',
      marketing: 'unsubscribed',
      newsletter: 'unsubscribed',
    });
    expect((await admin.get(`/v1/contacts/${c.id}`)).body).toMatchObject({
      tags: ['unsubscribed'],
      unsubscribed: true,
    });
    const on = await set(writer, c.id, 'marketing', { status: 'subscribed', source: 'support' });
    expect(statuses(on.body)).toEqual({
      all: 'subscribed',
      marketing: 'subscribed',
      newsletter: 'unsubscribed',
    });
    // Conditions no longer see an unsubscribe from everything.
    const after = (await admin.get(`/v1/contacts/${c.id}`)).body as {
      tags: string[];
      unsubscribed?: boolean;
    };
    expect(after.tags).toEqual([]);
    expect(after.unsubscribed).toBeUndefined();
  });

  const tagChanges = async (id: string) =>
    (
      (await admin.get(`/v1/contacts/${id}/timeline?limit=200`)).body as {
        data: { kind: string; detail: { attribute?: string } }[];
      }
    ).data
      .filter((i) => i.kind === 'attributeChange' && i.detail.attribute === 'tags')
      .map((i) => i.detail);

  it('records the unsubscribed tag an unsubscribe from everything sets on the timeline', async () => {
    const c = await contact();
    await admin.post(`/v1/contacts/${c.id}/tags`, { tags: ['early'] });
    await set(writer, c.id, 'all', { status: 'unsubscribed', source: 'crm' });
    expect(await tagChanges(c.id)).toEqual([
      { attribute: 'tags', from: ['early'], to: ['early', 'unsubscribed'], source: 'crm' },
      { attribute: 'tags', from: [], to: ['early'], source: 'api' },
    ]);
  });

  // One connection on the embedded database: two writers cannot interleave there.
  it.runIf(variant === 'postgres')(
    'an unsubscribe waits for the contact lock instead of overwriting a concurrent tag change',
    async () => {
      const c = await contact();
      const { prisma } = engine.deps;
      let unsubscribing: Promise<JsonResponse> | undefined;
      await prisma.$transaction(
        async (tx) => {
          await tx.$executeRawUnsafe(`SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE`, c.id);
          const [{ pid } = { pid: 0 }] = await tx.$queryRawUnsafe<{ pid: number }[]>(
            'SELECT pg_backend_pid() AS pid',
          );
          unsubscribing = set(writer, c.id, 'all', { status: 'unsubscribed' });
          // Until the unsubscribe is stuck behind this transaction's lock on the contact.
          for (let waiting = 0; waiting === 0;) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(
              // Behind this transaction only: other test files wait on locks of their own.
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND $1::int = ANY(pg_blocking_pids(pid))`,
              pid,
            );
            waiting = rows[0]?.n ?? 0;
          }
          await tx.$executeRawUnsafe(
            `UPDATE contacts SET attributes = jsonb_set(attributes, '{tags}', '["vip"]') WHERE id = $1`,
            c.id,
          );
        },
        { timeout: 30_000 },
      );
      expect((await unsubscribing)?.status).toBe(200);
      expect((await admin.get(`/v1/contacts/${c.id}`)).body).toMatchObject({
        tags: ['vip', 'unsubscribed'],
        unsubscribed: true,
      });
    },
  );

  it('finishes a bounce an admin set that failed part-way on the next attempt, recording it once', async () => {
    const c = await contact();
    const bounce = () => set(admin, c.id, 'all', { status: 'bounced', source: 'support' });
    const bounces = async () =>
      (await eventsOf(c.id)).filter((e) => e.name === 'email.bounced').length;
    // The suppression is stored, then its event is refused: journeys that exit on it never hear.
    await refusingInserts(
      engine.deps.sql,
      'events',
      `NEW.contact_id = '${c.id}' AND NEW.name = 'email.bounced'`,
      async () => {
        expect((await bounce()).status).toBe(500);
      },
    );
    expect(await bounces()).toBe(0);
    // The retry finds the address bounced already and records the event now; once, however often.
    expect((await bounce()).status).toBe(200);
    expect(await bounces()).toBe(1);
    expect((await bounce()).status).toBe(200);
    expect(await bounces()).toBe(1);
  });

  it('keeps bounces and complaints for admin keys and the mail-events webhook', async () => {
    const c = await contact();
    const refused = await set(writer, c.id, 'all', { status: 'bounced' });
    expect(refused.status).toBe(403);
    expect((refused.body as Problem).errors.map((e) => e.pointer)).toEqual(['/status']);
    expectProblem(await set(admin, c.id, 'newsletter', { status: 'complained' }), ['/category']);
    expect(statuses((await admin.get(`/v1/contacts/${c.id}/subscriptions`)).body).all).toBe(
      'subscribed',
    );

    const bounced = await set(admin, c.id, 'all', { status: 'bounced', source: 'support' });
    expect(statuses(bounced.body)).toEqual({
      all: 'bounced',
      marketing: 'bounced',
      newsletter: 'bounced',
    });
    expect((await eventsOf(c.id))[0]).toEqual({ name: 'email.bounced', category: undefined });
    // A write key cannot clear it, not even for one category; an admin key can, on `all`.
    expect((await set(writer, c.id, 'all', { status: 'subscribed' })).status).toBe(403);
    expect((await set(writer, c.id, 'marketing', { status: 'subscribed' })).status).toBe(403);
    expectProblem(await set(admin, c.id, 'marketing', { status: 'subscribed' }), ['/category']);
    const cleared = await set(admin, c.id, 'all', { status: 'subscribed' });
    expect(statuses(cleared.body).all).toBe('subscribed');

    const webhook = await admin.post('/v1/mail-events', {
      events: [{ type: 'complaint', email: c.email }],
    });
    expect(webhook.status).toBe(200);
    const after = (await admin.get(`/v1/contacts/${c.id}/subscriptions`)).body as Subscriptions;
    expect(after.subscriptions[0]).toMatchObject({
      category: 'all',
      status: 'complained',
      source: 'webhook',
    });
  });

  it('answers bad requests with problems and changes nothing', async () => {
    const c = await contact();
    const url = (category: string) => `/v1/contacts/${c.id}/subscriptions/${category}`;
    const problems: [JsonResponse, string[]][] = [
      [await send(writer, 'PUT', url('newsletter'), { status: 'maybe' }), ['/status']],
      [await send(writer, 'PUT', url('newsletter'), {}), ['/status']],
      [
        await send(writer, 'PUT', url('newsletter'), { status: 'unsubscribed', source: '<b>' }),
        ['/source'],
      ],
      [await send(writer, 'PUT', url('%20spaced'), { status: 'unsubscribed' }), ['/category']],
      [await send(writer, 'PUT', url('transactional'), { status: 'unsubscribed' }), ['/category']],
    ];
    for (const [res, pointers] of problems) expectProblem(res, pointers);
    expect(
      (await send(writer, 'PUT', `/v1/contacts/nobody/subscriptions/all`, { status: 'subscribed' }))
        .status,
    ).toBe(404);
    expect((await writer.get('/v1/contacts/nobody/subscriptions')).status).toBe(404);
    const anonymous = (
      await admin.post('/v1/track', { anonymousId: `a-${uniqueSuffix()}`, event: 'x' })
    ).body as { contactId: string };
    const noEmail = await set(writer, anonymous.contactId, 'all', { status: 'unsubscribed' });
    expect(noEmail.status).toBe(409);
    expect(
      await engine.deps.prisma.suppression.count({
        where: { workspaceId: ws.id, emailKey: c.email },
      }),
    ).toBe(0);
    expect(await eventsOf(c.id)).toEqual([]);
  });
});
