import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/http.js';
import { startTestEngine, uniqueSuffix } from '../support/engine.js';

interface TimelineBody {
  data: {
    kind: string;
    detail: {
      type?: string;
      name?: string | null;
      messageId?: string;
      properties?: Record<string, unknown>;
    };
  }[];
}

/** A contact as GET /v1/contacts/:id shows it: traits sit beside the built-in fields. */
interface ContactBody {
  userId: string | null;
  email: string | null;
  [trait: string]: unknown;
}

/** What the stock client sent and what became of it, seen through its own emitter. */
interface Delivery {
  readonly messageIds: string[];
  readonly statuses: number[];
  readonly errors: unknown[];
}

/**
 * The official Node client (`@segment/analytics-node`), configured with nothing but our host and
 * a write key, delivers to Drumbeat unchanged: its default path, Basic auth with the key as user
 * name, and the fields it adds (`sentAt`, `writeKey`, `context`, `_metadata`, `integrations`).
 */
describe('a stock Segment client (embedded database)', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;
  let api: ApiClient;
  let writeKey: string;

  beforeAll(async () => {
    engine = await startTestEngine('embedded');
    api = apiClient(engine);
    const created = await api.post('/v1/api-keys', { name: 'website', scope: 'ingest' });
    expect(created.status).toBe(201);
    writeKey = (created.body as { key: string }).key;
  });
  afterAll(async () => engine?.cleanup());

  /** A fresh client per call, as a site would construct one; closed (and flushed) before return. */
  async function send(
    key: string,
    calls: (analytics: Analytics) => void,
    path?: string,
  ): Promise<Delivery> {
    const analytics = new Analytics({
      writeKey: key,
      host: api.baseUrl,
      ...(path ? { path } : {}),
      flushAt: 2,
      maxRetries: 0,
    });
    const delivery: Delivery = { messageIds: [], statuses: [], errors: [] };
    analytics.on('http_request', (request) => {
      const body = JSON.parse(request.body) as { batch: { messageId: string }[] };
      delivery.messageIds.push(...body.batch.map((m) => m.messageId));
    });
    analytics.on('http_response', (response) => delivery.statuses.push(response.status));
    analytics.on('error', (error) => delivery.errors.push(error));
    calls(analytics);
    await analytics.closeAndFlush({ timeout: 20_000 });
    return delivery;
  }

  const reasonOf = (error: unknown) =>
    error instanceof Object && 'reason' in error && error.reason instanceof Error
      ? error.reason.message
      : String(error);

  const timelineOf = async (userId: string) => {
    const res = await api.get(`/v1/contacts/${userId}/timeline?limit=200`);
    expect(res.status).toBe(200);
    return (res.body as TimelineBody).data.filter((i) => i.kind === 'event');
  };

  it('identifies and tracks through the default /v1/batch path with an ingest key', async () => {
    const userId = `seg-${uniqueSuffix()}`;
    const delivery = await send(writeKey, (analytics) => {
      analytics.identify({
        userId,
        traits: { email: `${userId}@example.com`, firstName: 'Ada', title: 'Countess' },
      });
      analytics.track({ userId, event: 'Plan Upgraded', properties: { plan: 'pro', seats: 5 } });
    });
    expect(delivery.errors).toEqual([]);
    expect(delivery.statuses).toEqual([200]);
    expect(delivery.messageIds).toHaveLength(2);

    const contact = await api.get(`/v1/contacts/${userId}`);
    expect(contact.status).toBe(200);
    expect(contact.body).toMatchObject({
      userId,
      email: `${userId}@example.com`,
      firstName: 'Ada',
      title: 'Countess',
    } satisfies ContactBody);

    const events = await timelineOf(userId);
    expect(events.map((e) => e.detail.messageId).sort()).toEqual([...delivery.messageIds].sort());
    const track = events.find((e) => e.detail.type === 'track');
    expect(track?.detail).toMatchObject({
      name: 'Plan Upgraded',
      properties: { plan: 'pro', seats: 5 },
    });
    expect(events.find((e) => e.detail.type === 'identify')?.detail.properties).toMatchObject({
      email: `${userId}@example.com`,
    });
  });

  it('stores nothing new when the client sends the same messageIds again', async () => {
    const userId = `seg-${uniqueSuffix()}`;
    const ids = { identify: `${userId}-identify`, track: `${userId}-track` };
    const calls = (analytics: Analytics) => {
      analytics.identify({ userId, messageId: ids.identify, traits: { email: `${userId}@x.io` } });
      analytics.track({ userId, messageId: ids.track, event: 'Signed Up', properties: {} });
    };
    const first = await send(writeKey, calls);
    const again = await send(writeKey, calls);
    expect([first.statuses, again.statuses]).toEqual([[200], [200]]);
    expect(again.messageIds.sort()).toEqual([ids.identify, ids.track].sort());

    const events = await timelineOf(userId);
    expect(events.map((e) => e.detail.messageId).sort()).toEqual([ids.identify, ids.track].sort());
  });

  it('refuses a wrong write key with 401, reported by the client, and stores nothing', async () => {
    const userId = `seg-${uniqueSuffix()}`;
    const delivery = await send(`${writeKey}-wrong`, (analytics) => {
      analytics.identify({ userId, traits: { email: `${userId}@example.com` } });
      analytics.track({ userId, event: 'Plan Upgraded' });
    });
    expect(delivery.statuses).toEqual([401]);
    // The client reports each message of the refused batch as a delivery failure.
    expect(delivery.errors.map(reasonOf)).toEqual(['[401] Unauthorized', '[401] Unauthorized']);
    expect((await api.get(`/v1/contacts/${userId}`)).status).toBe(404);
  });

  it('takes the same key at /v1/import, the alias of batch a client may be pointed at', async () => {
    const userId = `seg-${uniqueSuffix()}`;
    const delivery = await send(
      writeKey,
      (analytics) => analytics.track({ userId, event: 'Imported', properties: { from: 'crm' } }),
      '/v1/import',
    );
    expect(delivery.errors).toEqual([]);
    expect(delivery.statuses).toEqual([200]);
    const events = await timelineOf(userId);
    expect(events.map((e) => e.detail.messageId)).toEqual(delivery.messageIds);
  });

  it('takes a gzip-compressed batch, as some Segment clients send', async () => {
    const userId = `seg-${uniqueSuffix()}`;
    const body = {
      batch: [
        {
          type: 'track',
          userId,
          event: 'Compressed',
          messageId: `${userId}-gz`,
          timestamp: new Date().toISOString(),
          context: { library: { name: 'analytics-node', version: '6.2.0' } },
          _metadata: { nodeVersion: process.version },
        },
      ],
      writeKey,
      sentAt: new Date().toISOString(),
    };
    const res = await fetch(`${api.baseUrl}/v1/batch`, {
      method: 'POST',
      body: gzipSync(JSON.stringify(body)),
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const events = await timelineOf(userId);
    expect(events.map((e) => e.detail.messageId)).toEqual([`${userId}-gz`]);
  });

  it('takes page and screen calls at their own paths, and refuses group and alias clearly', async () => {
    // Ingest keys were allowed these paths, which answered 404: page views of clients that
    // send each call on its own were lost.
    const userId = `pages-${uniqueSuffix()}`;
    const basic = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` };
    const page = await api.post(
      '/v1/page',
      { userId, name: 'Pricing', properties: { path: '/pricing' }, messageId: `${userId}-p` },
      basic,
    );
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    const screen = await api.post(
      '/v1/screen',
      { userId, name: 'Home', messageId: `${userId}-s` },
      basic,
    );
    expect(screen.status).toBe(200);
    const events = await timelineOf(userId);
    expect(
      events
        .filter((e) => e.kind === 'event')
        .map((e) => [e.detail.name, e.detail.properties?.name])
        .sort(),
    ).toEqual([
      ['page_viewed', 'Pricing'],
      ['screen_viewed', 'Home'],
    ]);

    for (const type of ['group', 'alias']) {
      const res = await api.post(
        `/v1/${type}`,
        { userId, groupId: 'acme', previousId: 'x' },
        basic,
      );
      expect(res.status).toBe(422);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ errors: [{ code: 'unsupported-type' }] });
    }
  });
});
